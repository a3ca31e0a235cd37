"""Serving the app with uvicorn, with Stripe-style JSON even for requests the HTTP parser itself rejects.

Server settings that keep one client from hurting the others (uvicorn has no header-read timeout or connection
cap of its own that answers JSON, so the protocol below adds them):
- a request, headers and body, must arrive within `REQUEST_TIMEOUT` seconds of its first byte (or of the connection
  being opened), else a JSON 408 and the connection closes: a client that sends its headers slowly, a body shorter
  than its Content-Length, or no body after `Expect: 100-continue` cannot hold a socket (and a place under the
  connection cap) for ever; the truncated request is never acted on;
- at most `MAX_CONNECTIONS` connections are open at once; one more gets a JSON 429 (`rate_limit`, as Stripe answers
  too many concurrent requests) and is closed;
- WebSocket upgrades are not served (`ws="none"`): an `Upgrade: websocket` request is answered as plain HTTP;
- requests pipelined ahead of a malformed one are answered first, then the 400 for the malformed one.

Two costs of uvicorn's protocol are trimmed, for throughput (`python -m bench mock`): an answer's header block
and its body leave in one write (uvicorn writes them separately: two system calls and, with TCP_NODELAY, two
segments per answer), and the request-read deadline is one timer per connection that is re-armed lazily, not a
timer made and cancelled for every request.
"""

from __future__ import annotations

import asyncio
import secrets
import socket

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.app import MockApp
from mockserver.errors import ApiError

REQUEST_TIMEOUT = 10.0
"""Seconds a client has to send a whole request (headers and body), from its first byte (or from connecting)."""
MAX_CONNECTIONS = 512
"""Open connections served at once; more are refused with a 429."""
KEEP_ALIVE = 30
"""Seconds an idle keep-alive connection stays open."""

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 429: b"Too Many Requests"}


def error_bytes(error: ApiError) -> bytes:
    """A complete HTTP/1.1 answer (closing the connection) carrying the Stripe-style JSON body of `error`."""
    body = orjson.dumps(error.body())
    head = [b"HTTP/1.1 %d %s" % (error.status, _REASONS.get(error.status, b"Error")),
            b"content-type: application/json", b"request-id: req_" + secrets.token_hex(7).encode(),
            b"content-length: " + str(len(body)).encode()]
    head += [k.encode("latin-1") + b": " + v.encode("latin-1") for k, v in error.headers.items()]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class OneWritePerAnswer:
    """The transport as one answer's ASGI cycle sees it: the cycle's first write (the status line and headers) is
    held back and sent together with the next one (the body), so a plain answer leaves in one write.

    Not for a request that expects ``100 Continue`` (that interim answer must leave at once)."""

    __slots__ = ("_held", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = bytes(data)
            return
        if self._held:
            data, self._held = self._held + data, b""
        self._transport.write(data)

    def close(self) -> None:
        if self._held:
            self._transport.write(self._held)
            self._held = b""
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with JSON answers for what the parser rejects, a request-read timeout, a
    connection cap, plain-HTTP answers to upgrade requests and in-order answers around a malformed request."""

    request_timeout: float = REQUEST_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    _request_timer: asyncio.TimerHandle | None = None
    _receiving_since: float | None = None  # loop time the request being received began (None: none due)
    _deferred_400: bytes | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(error_bytes(ApiError(
                429, f"Too many open connections (at most {self.max_connections}); retry shortly.",
                type="rate_limit_error", code="rate_limit", headers={"retry-after": "1"})))
            transport.close()
            return
        self._receiving_since = self.loop.time()
        self._request_timer = self.loop.call_later(self.request_timeout, self._check_request_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None
        super().connection_lost(exc)

    # -- request-read timeout: one timer per connection, re-armed for the deadline of the request then due ----------

    def _check_request_deadline(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        since = self._receiving_since
        left = self.request_timeout if since is None else since + self.request_timeout - self.loop.time()
        if left > 0:
            self._request_timer = self.loop.call_later(left, self._check_request_deadline)
            return
        # Closing tells a request the app is reading the body of that the client left: it acts on nothing.
        self.transport.write(error_bytes(ApiError(
            408, f"The request (headers and body) did not arrive within {self.request_timeout:g} seconds.",
            code="request_timeout")))
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._receiving_since is None:  # the first request's deadline runs from the connection's opening
            self._receiving_since = self.loop.time()

    def on_message_complete(self) -> None:
        self._receiving_since = None
        super().on_message_complete()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None and not self.expect_100_continue and not isinstance(self.cycle.transport,
                                                                                        OneWritePerAnswer):
            self.cycle.transport = OneWritePerAnswer(self.transport)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._deferred_400 is not None and not self.pipeline and self.cycle.response_complete:
            self._write_400()

    # -- upgrades: answered as plain HTTP ----------------------------------------------------------------------

    def _unsupported_upgrade_warning(self) -> None:
        # The parser stops at an upgrade request's headers: serve the request as it is (no body) and close after.
        self._receiving_since = None
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.more_body = False
            self.cycle.keep_alive = False
            self.cycle.message_event.set()

    # -- malformed requests ----------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        self._receiving_since = None
        self._deferred_400 = error_bytes(ApiError(400, f"Malformed HTTP request: {msg}", code="invalid_request"))
        busy = self.pipeline or (self.cycle is not None and not self.cycle.response_complete)
        if busy:  # answer the requests before it first, in order; no more reading meanwhile
            self.flow.pause_reading()
            return
        self._write_400()

    def _write_400(self) -> None:
        assert self._deferred_400 is not None
        if not self.transport.is_closing():
            self.transport.write(self._deferred_400)
            self.transport.close()
        self._deferred_400 = None


def serve(app: MockApp, sock: socket.socket, log_level: str = "warning", *,
          request_timeout: float = REQUEST_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> None:
    """Serve on an already-bound socket: one process, one event loop (state needs no locks).

    `request_timeout` (seconds) and `max_connections` bound what slow or numerous clients can hold."""
    protocol = type("MockHttpProtocol", (JsonErrorHttpToolsProtocol,),
                    {"request_timeout": request_timeout, "max_connections": max_connections})
    # No proxy-header middleware either: the mock does not use the client's address, and it cost every request.
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off", loop="uvloop",
                            http=protocol, ws="none", server_header=False, date_header=False, proxy_headers=False,
                            timeout_keep_alive=KEEP_ALIVE)
    uvicorn.Server(config).run(sockets=[sock])
