"""Regression tests for what only a real socket can send the mock: WebSocket upgrades, slow headers, bodies that
never arrive, too many connections, requests pipelined ahead of a malformed one, duplicate headers. Each answer is
Stripe-style JSON with a Request-Id, never plain text, never a 5xx, never a hang."""

from __future__ import annotations

import base64
import re
import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from harness.target import Target, start_embedded_mock

REQUEST_TIMEOUT = 1.0
MAX_CONNECTIONS = 6


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with start_embedded_mock(label="limits", server_args=(
            "--request-timeout", str(REQUEST_TIMEOUT), "--max-connections", str(MAX_CONNECTIONS))) as started:
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
    assert waited < REQUEST_TIMEOUT + 3


def _post_head(target: Target, length: int, extra: str = "") -> bytes:
    return (f"POST /v1/identity/verification_sessions HTTP/1.1\r\nHost: mock\r\n"
            f"Authorization: Bearer {target.api_key}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode()


def _sessions_marked(target: Target, mark: str) -> list[dict]:
    with _connect(target) as sock:
        sock.sendall(_request(target, "/v1/identity/verification_sessions?limit=100", "Connection: close\r\n"))
        [(status, _, body)] = _answers(_read_all(sock))
    assert status == 200
    return [s for s in body["data"] if s["metadata"].get("mark") == mark]


@pytest.mark.parametrize("expect_continue", [False, True], ids=["short body", "100-continue and no body"])
def test_a_body_that_never_arrives_times_out_with_a_json_408_and_is_not_acted_on(
        target: Target, expect_continue: bool) -> None:
    mark = f"m{time.monotonic_ns()}"
    body = f"type=document&metadata[mark]={mark}".encode()
    with _connect(target) as sock:
        if expect_continue:
            sock.sendall(_post_head(target, len(body), "Expect: 100-continue\r\n"))
        else:
            sock.sendall(_post_head(target, len(body) + 10) + body)  # ten bytes short of its Content-Length
        start = time.monotonic()
        raw = _read_all(sock)
        waited = time.monotonic() - start
    answers = _answers(raw.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n"))
    assert [a[0] for a in answers] == [408] and answers[0][2]["error"]["code"] == "request_timeout"
    assert waited < REQUEST_TIMEOUT + 3
    assert _sessions_marked(target, mark) == []


def test_a_whole_body_is_acted_on(target: Target) -> None:
    mark = f"m{time.monotonic_ns()}"
    body = f"type=document&metadata[mark]={mark}".encode()
    with _connect(target) as sock:
        sock.sendall(_post_head(target, len(body), "Connection: close\r\n") + body)
        answers = _answers(_read_all(sock))
    assert [a[0] for a in answers] == [200]
    assert [s["id"] for s in _sessions_marked(target, mark)] == [answers[0][2]["id"]]


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


def test_slow_headers_on_a_kept_alive_connection_time_out_too(target: Target) -> None:
    with _connect(target) as sock:
        sock.sendall(_request(target))
        time.sleep(0.2)
        sock.sendall(b"GET /v1/invoices HTTP/1.1\r\nHost: mock\r\n")  # the second request's headers never end
        start = time.monotonic()
        answers = _answers(_read_all(sock))
        waited = time.monotonic() - start
    assert [a[0] for a in answers] == [200, 408]
    assert waited < REQUEST_TIMEOUT + 3


def test_an_idle_kept_alive_connection_is_not_timed_out_between_requests(target: Target) -> None:
    with _connect(target) as sock:
        sock.sendall(_request(target))
        time.sleep(REQUEST_TIMEOUT * 2.5)  # idle, nothing due: the request deadline does not run
        sock.sendall(_request(target, extra="Connection: close\r\n"))
        answers = _answers(_read_all(sock))
    assert [a[0] for a in answers] == [200, 200]


def test_a_request_expecting_100_continue_gets_it_before_sending_its_body(target: Target) -> None:
    body = b"description=late"
    with _connect(target) as sock:
        sock.sendall((f"POST /v1/invoiceitems HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {target.api_key}\r\n"
                      f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                      "Expect: 100-continue\r\nConnection: close\r\n\r\n").encode())
        sock.settimeout(5)
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        rest = interim.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n") + _read_all(sock)
    answers = _answers(rest)
    assert len(answers) == 1 and answers[0][0] == 400  # no customer: a Stripe 400, answered after the body
    assert answers[0][2]["error"]["type"] == "invalid_request_error"


def test_an_answer_leaves_in_one_write() -> None:
    from mockserver.server import OneWritePerAnswer

    class Recording:
        def __init__(self) -> None:
            self.writes: list[bytes] = []
            self.closed = False

        def write(self, data: bytes) -> None:
            self.writes.append(data)

        def close(self) -> None:
            self.closed = True

    plain, streamed, cut = Recording(), Recording(), Recording()
    one = OneWritePerAnswer(plain)  # type: ignore[arg-type]
    one.write(b"HTTP/1.1 200 OK\r\n\r\n")
    one.write(b"{}")
    assert plain.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    many = OneWritePerAnswer(streamed)  # type: ignore[arg-type]
    for part in (b"head", b"a", b"b"):
        many.write(part)
    assert streamed.writes == [b"heada", b"b"]
    closing = OneWritePerAnswer(cut)  # type: ignore[arg-type]
    closing.write(b"head")
    closing.close()  # an answer cut short still sends what it started
    assert cut.writes == [b"head"] and cut.closed


@pytest.mark.parametrize("args", [["--request-timeout", "0"], ["--header-timeout", "-1"], ["--request-timeout", "nan"],
                                  ["--request-timeout", "inf"], ["--max-connections", "0"], ["--max-connections", "x"]])
def test_a_limit_that_would_refuse_every_request_is_a_usage_error(args: list[str], capsys) -> None:
    from mockserver.__main__ import parse_args

    with pytest.raises(SystemExit) as exited:
        parse_args(args)
    assert exited.value.code == 2
    assert re.search(r"error: argument --(request|header)-timeout|--max-connections", capsys.readouterr().err)


def test_the_former_name_of_the_request_timeout_still_works() -> None:
    from mockserver.__main__ import parse_args

    assert parse_args(["--header-timeout", "2.5"]).request_timeout == 2.5
