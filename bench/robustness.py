"""Robustness benchmark: many malformed and extreme requests across every operation; never a 5xx, never slow.

`python -m bench robustness` sends 100,000 requests (``--requests N``) to the mock's ASGI app in this process
(one event loop, no sockets: what is measured is the mock's own work per request), over all the contract's
operations, with real IDs of seeded objects in their paths. Each request is a minimal well-formed request of its
operation with exactly one thing made extreme or malformed (one-field-extreme), drawn from these classes:

- ``integer``: one integer field (any depth) at 2^63-1, 2^63, -2^63-1, 4,301 digits, its bounds +/- 1, ...;
- ``decimal``: one decimal field at 1e999999, 1e300000, 40 nines, 13 places, ...;
- ``string``: one string field 5,001 characters long, with NUL, invalid surrogates escaped, right-to-left marks...;
- ``index``: an array index of 4,301 digits, 10^20, 1001, -1, 01;
- ``path``: a path parameter with an encoded slash, empty, a trailing slash, 5,000 characters, bad escapes;
- ``header``: Authorization twice, Idempotency-Key empty / 256 characters / 100 kB, odd content types;
- ``expand``: unknown, too deep, too many, not expandable;
- ``encoding``: bad %-escapes, invalid UTF-8, conflicting keys, 2,001 pairs;
- ``valid``: the minimal request unchanged (state keeps growing, so handlers see real objects).

It prints the number of requests, 5xx answers, answers without JSON or Request-Id, requests that took more than
1 s of CPU, the slowest request (CPU and wall time) and p50/p99 wall latency, per class and overall, and writes
the table to reports/bench-robustness.md. The exit code is 1 when any answer was a 5xx or not Stripe-shaped (a
correctness failure, not a speed one).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from bench.publish import publish
from contracts.loader import Operation, load_contract
from mockserver.app import MockApp
from mockserver.testing import seed_objects
from wire.codec import encode_body, encode_query

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_robustnessbench0000001"
FORM = "application/x-www-form-urlencoded"
SLOW = 1.0  # seconds: a request slower than this is reported

EXTREME_INTEGERS = (str(2**63 - 1), str(2**63), str(-(2**63)), str(-(2**63) - 1), "9" * 4301, "9" * 30,
                    "-0", "00000000000000000001", "1e3", "0x10", "18446744073709551616")
EXTREME_DECIMALS = ("1e999999", "1e300000", "9" * 39, "0." + "0" * 37 + "1", "1.0000000000001", "-1e-999999",
                    "999999999999.999999999999", "1" * 13, "1.5e10", "NaN", "-Infinity", "1__0", ".", "-")
EXTREME_STRINGS = ("x" * 5001, "\x00", "a\x00b", "\u202e\u202d", "\ud800".encode("utf-8", "surrogatepass").decode(
    "utf-8", "replace"), "💥" * 1000, "%00", "../../etc/passwd", " " * 300, "\r\n\r\n")
HUGE_INDICES = ("9" * 4301, "9" * 4300, "1" + "0" * 20, "1001", "-1", "01", "")
PATH_IDS = ("%2F", "a%2Fvoid", "", "x" * 5000, "%ff", "%", "..", ".", "%2e%2e", "a%00b", "%E2%82%AC", "a b")
EXPANDS = (["nothing"], ["a.b.c.d.e.f"], ["lines.data.nothing"], ["id"], [""], ["."] * 5, ["customer"] * 21,
           ["data." * 10 + "x"])
ENCODINGS = (b"%", b"a=%zz", b"a=%ff%fe", b"\xff\xfe=1", b"a=1&a=2", b"a[b]=1&a=2", b"a[]=1&a[0]=2",
             b"&".join(b"k%d=1" % n for n in range(2001)), b"a" + b"[x]" * 20 + b"=1", b"=1", b"a[=1", b"a]=1")
CLASSES = ("integer", "decimal", "string", "index", "path", "header", "expand", "encoding", "valid")


@dataclass
class Leaf:
    """A scalar field of a request schema: its place (keys and list indices) and kind."""

    path: tuple[str | int, ...]
    kind: str  # integer, decimal, string


@dataclass
class Stats:
    count: int = 0
    server_errors: int = 0
    malformed: int = 0
    slow: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


# -- requests -------------------------------------------------------------------------------------------------


def _resolve(contract: Any, schema: dict) -> dict:
    return contract.resolve(schema) if isinstance(schema, dict) else {}


def minimal(contract: Any, schema: dict, depth: int = 0) -> Any:
    """A small well-formed value: required properties only, first enum value, bounded numbers."""
    schema = _resolve(contract, schema)
    branches = [b for b in schema.get("anyOf", []) if b.get("enum") != [""]]
    if branches:
        return minimal(contract, branches[0], depth)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: minimal(contract, props[name], depth + 1) for name in schema.get("required", [])
                if name in props and depth < 6}
    if kind == "array":
        return [minimal(contract, schema.get("items", {}), depth + 1)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "decimal":
        return "1"
    return "x"


def leaves(contract: Any, schema: dict, path: tuple[str | int, ...] = (), depth: int = 0) -> Iterator[Leaf]:
    """Every scalar field of a request schema, optional ones included (arrays through their first item)."""
    schema = _resolve(contract, schema)
    if depth > 8:
        return
    for branch in schema.get("anyOf", []):
        if branch.get("enum") != [""]:
            yield from leaves(contract, branch, path, depth)
            return
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from leaves(contract, sub, (*path, name), depth + 1)
    elif kind == "array":
        yield from leaves(contract, schema.get("items", {}), (*path, 0), depth + 1)
    elif kind == "integer":
        yield Leaf(path, "integer")
    elif kind == "string" and "enum" not in schema and path:
        yield Leaf(path, "decimal" if schema.get("format") == "decimal" else "string")


def _set(params: dict, path: tuple[str | int, ...], value: Any) -> dict:
    """A copy of params with the value at `path` set, creating the objects and one-item lists on the way."""
    out = orjson.loads(orjson.dumps(params))
    node: Any = out
    for step, nxt in itertools.pairwise(path):
        fresh: Any = [] if isinstance(nxt, int) else {}
        if isinstance(node, list):
            while len(node) <= step:  # type: ignore[operator]
                node.append(fresh)
            if not isinstance(node[step], type(fresh)):  # type: ignore[index]
                node[step] = fresh  # type: ignore[index]
            node = node[step]  # type: ignore[index]
        else:
            if not isinstance(node.get(step), type(fresh)):
                node[step] = fresh
            node = node[step]
    last = path[-1]
    if isinstance(node, list):
        while len(node) <= last:  # type: ignore[operator]
            node.append(None)
        node[last] = value  # type: ignore[index]
    else:
        node[last] = value
    return out


@dataclass
class Raw:
    """One request as the app receives it."""

    method: str
    path: str  # as on the wire (percent-encoded)
    query: bytes = b""
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class Generator:
    """Deterministic one-field-extreme and malformed requests over the contract's operations."""

    def __init__(self, ids: dict[str, str], seed: int):
        self.contract = load_contract()
        self.ops: list[Operation] = list(self.contract.operations.values())
        self.rng = random.Random(seed)
        self.ids = ids
        self.base = {op.operation_id: minimal(self.contract, op.request_schema) for op in self.ops}
        self.leaves = {op.operation_id: list(leaves(self.contract, op.request_schema)) for op in self.ops}

    def path_of(self, op: Operation, odd: str | None = None) -> str:
        names = op.path_params
        target = self.rng.choice(names) if names and odd is not None else None
        path = op.path
        for name in names:
            value = odd if name == target else quote(self.ids.get(name, f"{name}_missing"), safe="")
            path = path.replace("{" + name + "}", value)  # type: ignore[arg-type]
        return path

    def request(self, op: Operation, kind: str) -> Raw:
        params: dict = dict(self.base[op.operation_id])
        headers = [("authorization", f"Bearer {KEY}")]
        path = self.path_of(op)
        raw_extra = b""
        rng = self.rng
        candidates = [leaf for leaf in self.leaves[op.operation_id] if leaf.kind == kind]
        if kind in ("integer", "decimal", "string") and candidates:
            leaf = rng.choice(candidates)
            pool = {"integer": EXTREME_INTEGERS, "decimal": EXTREME_DECIMALS, "string": EXTREME_STRINGS}[kind]
            params = _set(params, leaf.path, rng.choice(pool))
        elif kind == "index":
            name = rng.choice(sorted(op.request_schema.get("properties", {})) or ["expand"])
            raw_extra = f"{name}[{rng.choice(HUGE_INDICES)}]=1".encode()
        elif kind == "path":
            odd = rng.choice(PATH_IDS)
            path = self.path_of(op, odd) if op.path_params else path + rng.choice(["/", "//", "/%2F", "/x"])
        elif kind == "header":
            choice = rng.randrange(6)
            if choice == 0:
                headers.append(("authorization", "Bearer sk_test_someoneelse00000000001"))
            elif choice == 1:
                headers.append(("idempotency-key", rng.choice(["", "k" * 256, "k" * 100_000, "ok-key"])))
            elif choice == 2:
                headers.append(("content-type", rng.choice(["application/json", "", "text/plain", FORM * 3])))
            elif choice == 3:
                headers += [("upgrade", "websocket"), ("connection", "Upgrade"),
                            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]
            elif choice == 4:
                headers.append(("stripe-version", rng.choice(["", "x" * 5000, "2099-01-01"])))
            else:
                headers.append(("idempotency-key", "dup"))
                headers.append(("idempotency-key", "dup2"))
        elif kind == "expand":
            params["expand"] = rng.choice(EXPANDS)
        elif kind == "encoding":
            raw_extra = rng.choice(ENCODINGS)
        encoded = (encode_body if op.method == "POST" else lambda p: encode_query(p).encode())(params)
        if raw_extra:
            encoded = encoded + b"&" + raw_extra if encoded else raw_extra
        if op.method == "POST":
            if not any(k == "content-type" for k, _ in headers):
                headers.append(("content-type", FORM))
            return Raw("POST", path, b"", encoded, headers)
        return Raw(op.method, path, encoded, b"", headers)

    def __iter__(self) -> Iterator[tuple[str, Operation, Raw]]:
        """(class, operation, request) for ever: a class, then an operation that has such a field."""
        eligible = {kind: [op for op in self.ops if any(leaf.kind == kind for leaf in self.leaves[op.operation_id])]
                    for kind in ("integer", "decimal", "string")}
        while True:
            kind = self.rng.choice(CLASSES)
            op = self.rng.choice(eligible.get(kind) or self.ops)
            yield kind, op, self.request(op, kind)


# -- driving the app --------------------------------------------------------------------------------------------


async def send_one(app: MockApp, raw: Raw) -> tuple[int, dict[str, str], bytes]:
    from urllib.parse import unquote

    scope = {"type": "http", "method": raw.method, "path": unquote(raw.path, errors="replace"),
             "raw_path": raw.path.encode("utf-8", "surrogateescape"), "query_string": raw.query,
             "headers": [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in raw.headers]}
    messages = [{"type": "http.request", "body": raw.body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def stripe_shaped(status: int, headers: dict[str, str], payload: bytes) -> bool:
    if headers.get("content-type") != "application/json" or not headers.get("request-id", "").startswith("req_"):
        return False
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    if status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        return isinstance(error, dict) and bool(error.get("type")) and bool(error.get("message"))
    return isinstance(body, dict)


async def run(app: MockApp, ids: dict[str, str], total: int, seed: int) -> tuple[dict[str, Stats], set[str], float]:
    generator = Generator(ids, seed)
    stats: dict[str, Stats] = defaultdict(Stats)
    operations: set[str] = set()
    started = time.perf_counter()
    for n, (kind, op, raw) in enumerate(generator):
        if n >= total:
            break
        t0, c0 = time.perf_counter(), time.thread_time()
        status, headers, payload = await send_one(app, raw)
        took, cpu = time.perf_counter() - t0, time.thread_time() - c0
        s = stats[kind]
        s.count += 1
        s.latencies.append(took)
        s.cpu.append(cpu)
        s.statuses[status // 100 * 100] += 1
        operations.add(op.operation_id)
        problem = ""
        if status >= 500:
            s.server_errors += 1
            problem = f"{status}"
        if not stripe_shaped(status, headers, payload):
            s.malformed += 1
            problem = problem or "not Stripe-shaped"
        if cpu > SLOW:
            s.slow += 1
            problem = problem or f"{cpu:.2f} s of CPU"
        if problem and len(s.examples) < 3:
            s.examples.append(f"{problem}: {raw.method} {raw.path[:80]} body={raw.body[:120]!r} "
                              f"query={raw.query[:120]!r} -> {payload[:200]!r}")
    return stats, operations, time.perf_counter() - started


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


def _row(name: str, s: Stats) -> str:
    return (f"| {name} | {s.count:,} | {s.statuses[200]:,} | {s.statuses[400]:,} | {s.server_errors} | {s.malformed} | "
            f"{s.slow} | {_ms(s.latencies, 0.5)} | {_ms(s.latencies, 0.99)} | {max(s.latencies) * 1000:.1f} | "
            f"{max(s.cpu) * 1000:.1f} |")


def report(stats: dict[str, Stats], operations: set[str], seconds: float, total_ops: int, command: str) -> str:
    rows = ["| class | requests | 2xx | 4xx | 5xx | not Stripe-shaped | > 1 s CPU | p50 ms | p99 ms | max ms | "
            "max CPU ms |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    everything = Stats()
    for kind in CLASSES:
        s = stats.get(kind)
        if s is None:
            continue
        everything.count += s.count
        everything.server_errors += s.server_errors
        everything.malformed += s.malformed
        everything.slow += s.slow
        everything.latencies += s.latencies
        everything.cpu += s.cpu
        everything.statuses.update(s.statuses)
        rows.append(_row(kind, s))
    e = everything
    rows.append(_row("**all**", e))
    lines = ["# Robustness benchmark", "", f"`{command}`", "",
             f"{e.count:,} requests over {len(operations)} of {total_ops} operations in {seconds:.1f} s "
             f"({e.count / seconds:,.0f} req/s, mean {statistics.fmean(e.latencies) * 1000:.2f} ms); "
             f"5xx: {e.server_errors}; not Stripe-shaped: {e.malformed}; requests over {SLOW:g} s of CPU: {e.slow}; "
             f"slowest: {max(e.cpu) * 1000:.1f} ms of CPU, {max(e.latencies) * 1000:.1f} ms of wall time.", "",
             "Wall times include waiting for a CPU when the machine is busy; CPU time (this thread's) is the mock's "
             "own work per request.", "",
             *rows]
    examples = [x for kind in CLASSES if kind in stats for x in stats[kind].examples]
    if examples:
        lines += ["", "Examples of failures:", *[f"- {x}" for x in examples]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench robustness", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="how many requests (default 100,000)")
    parser.add_argument("--seed", type=int, default=12, help="random seed (the same seed sends the same requests)")
    parser.add_argument("--quick", action="store_true", help="2,000 requests (a smoke run)")
    parser.add_argument("--report", type=Path, help="where to write the table (default reports/bench-robustness.md)")
    args = parser.parse_args(argv)
    total = 2_000 if args.quick else args.requests
    app = MockApp()
    ids = seed_objects(app, KEY)
    stats, operations, seconds = asyncio.run(run(app, ids, total, args.seed))
    command = f"python -m bench robustness --requests {total} --seed {args.seed}"
    text = report(stats, operations, seconds, len(load_contract().operations), command)
    default = ROOT / "reports" / ("bench-robustness-quick.md" if args.quick else "bench-robustness.md")
    publish(text, args.report or default)
    bad = sum(s.server_errors + s.malformed for s in stats.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
