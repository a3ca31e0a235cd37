"""Serving the app with uvicorn, with Stripe-style JSON even for requests the HTTP parser itself rejects."""

from __future__ import annotations

import secrets
import socket

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.app import MockApp
from mockserver.errors import ApiError


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn answers unparsable requests (a request line too long, bad bytes) with text/plain; the mock promises
    a JSON error with a Request-Id for every client mistake, so this protocol does that instead."""

    def send_400_response(self, msg: str) -> None:
        body = orjson.dumps(ApiError(400, f"Malformed HTTP request: {msg}", code="invalid_request").body())
        head = (b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                b"request-id: req_" + secrets.token_hex(7).encode() + b"\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n")
        self.transport.write(head + body)
        self.transport.close()


def serve(app: MockApp, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve on an already-bound socket: one process, one event loop (state needs no locks)."""
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off", loop="uvloop",
                            http=JsonErrorHttpToolsProtocol, server_header=False, date_header=False,
                            timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=[sock])
