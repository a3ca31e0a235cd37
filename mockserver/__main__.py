"""Run the mock alone: `python -m mockserver --host 127.0.0.1 --port 12111`.

Served by uvicorn (httptools parser, uvloop event loop; see mockserver/server.py): one process, one event loop, so
the in-memory state needs no locks and every request is applied atomically.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from pathlib import Path

from mockserver.app import MockApp
from mockserver.hooks import build_hooks
from mockserver.server import MAX_CONNECTIONS, REQUEST_TIMEOUT, serve


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"a number of seconds above 0, e.g. 10 (got {text!r})")
    return value


def _count(text: str) -> int:
    """A whole number from 1 up (argparse type)."""
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"a whole number from 1 up, e.g. 512 (got {text!r})")
    return int(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mockserver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=12111, help="port (0 picks a free one; see --port-file)")
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file once listening")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help="enable a planted bug from the fault catalogue (repeatable); --fault list shows them")
    parser.add_argument("--json", action="store_true",
                        help="with --fault list: print the catalogue as JSON (what the fault matrix reads)")
    parser.add_argument("--chaos", action="append", default=[], metavar="SETTING",
                        help="chaos setting, e.g. latency=0.05, rate_limit=0.1, unavailable=0.1, extra_fields, "
                             "extra_headers (repeatable)")
    parser.add_argument("--request-timeout", "--header-timeout", type=_seconds, default=REQUEST_TIMEOUT,
                        metavar="SECONDS", help="seconds a client has to send a whole request, headers and body, "
                        f"from its first byte; later, a JSON 408 (default {REQUEST_TIMEOUT:g}; --header-timeout is "
                        "its former name)")
    parser.add_argument("--max-connections", type=_count, default=MAX_CONNECTIONS, metavar="N",
                        help=f"open connections served at once; more get a 429 (default {MAX_CONNECTIONS})")
    parser.add_argument("--disable", action="append", default=[], metavar="OPERATION",
                        help="answer this operation (an operationId of the contract) with 404 Unrecognized request "
                             "URL, as a server without it would (repeatable, or comma-separated)")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.json and "list" not in args.fault:
        print("error: --json goes with --fault list", file=sys.stderr)
        return 2
    if "list" in args.fault:
        from mockserver.faults import catalogue_data, describe_catalogue

        print(json.dumps(catalogue_data(), indent=1) if args.json else describe_catalogue())
        return 0
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        disabled = [name for value in args.disable for name in value.split(",") if name]
        hooks = build_hooks(args.fault, args.chaos, disabled)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = MockApp(hooks=hooks)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"error: cannot bind {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        os.replace(tmp, args.port_file)
    print(f"mock server listening on http://{args.host}:{port}", flush=True)
    serve(app, sock, args.log_level, request_timeout=args.request_timeout, max_connections=args.max_connections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
