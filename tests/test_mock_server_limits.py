"""Regression tests for what only a real socket can send the mock: WebSocket upgrades, slow headers, too many
connections, requests pipelined ahead of a malformed one, duplicate headers. Each answer is Stripe-style JSON
with a Request-Id, never plain text, never a 5xx, never a hang."""

from __future__ import annotations

import base64
import re
import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from harness.target import Target, start_embedded_mock

HEADER_TIMEOUT = 1.0
MAX_CONNECTIONS = 6


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with start_embedded_mock(label="limits", server_args=(
            "--header-timeout", str(HEADER_TIMEOUT), "--max-connections", str(MAX_CONNECTIONS))) as started:
        yield started


def _connect(target: Target) -> socket.socket:
    host, port = target.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_all(sock: socket.socket, deadline: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (or the deadline)."""
    sock.settimeout(deadline)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except TimeoutError:
        pass
    return b"".join(chunks)


def _answers(raw: bytes) -> list[tuple[int, dict[str, str], dict]]:
    """(status, headers, JSON body) of each HTTP/1.1 answer in `raw`, in order."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers["content-length"])
        out.append((status, headers, orjson.loads(rest[:length])))
        raw = rest[length:]
    return out


def _request(target: Target, path: str = "/v1/invoices", extra: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {target.api_key}\r\n{extra}"
            "\r\n").encode()


@pytest.mark.parametrize("key", [base64.b64encode(b"0123456789abcdef").decode(), "not-a-valid-key"])
def test_websocket_upgrade_gets_a_json_answer(target: Target, key: str) -> None:
    with _connect(target) as sock:
        sock.sendall(_request(target, extra=f"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {key}"
                                            "\r\nSec-WebSocket-Version: 13\r\n"))
        answers = _answers(_read_all(sock))
    assert len(answers) == 1
    status, headers, body = answers[0]
    assert status == 200 and headers["content-type"] == "application/json" and headers["request-id"]
    assert body["object"] == "list"


def test_slow_headers_time_out_with_a_json_408(target: Target) -> None:
    with _connect(target) as sock:
        sock.sendall(b"GET /v1/invoices HTTP/1.1\r\nHost: mock\r\n")
        start = time.monotonic()
        answers = _answers(_read_all(sock))
        waited = time.monotonic() - start
    assert [a[0] for a in answers] == [408]
    assert answers[0][2]["error"]["code"] == "request_timeout"
    assert waited < HEADER_TIMEOUT + 3


def test_connections_beyond_the_cap_get_a_json_429(target: Target) -> None:
    held = [_connect(target) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.1)
        with _connect(target) as extra:
            answers = _answers(_read_all(extra, 5))
        assert [a[0] for a in answers] == [429]
        assert answers[0][2]["error"]["type"] == "rate_limit_error"
    finally:
        for sock in held:
            sock.close()


def test_pipelined_requests_before_a_malformed_one_are_answered(target: Target) -> None:
    packet = _request(target) + _request(target, "/v1/invoiceitems") + b"NOT HTTP AT ALL\r\n\r\n"
    with _connect(target) as sock:
        sock.sendall(packet)
        answers = _answers(_read_all(sock))
    assert [a[0] for a in answers] == [200, 200, 400]
    assert answers[0][2]["url"] == "/v1/invoices" and answers[1][2]["url"] == "/v1/invoiceitems"
    assert answers[2][2]["error"]["type"] == "invalid_request_error"


def test_duplicate_authorization_is_refused(target: Target) -> None:
    with _connect(target) as sock:
        sock.sendall(_request(target, extra="Authorization: Bearer sk_test_another00000000000001\r\n"
                                            "Connection: close\r\n"))
        answers = _answers(_read_all(sock))
    assert [a[0] for a in answers] == [400]
    assert re.search("authorization", answers[0][2]["error"]["message"])
