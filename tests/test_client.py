"""ApiClient against a real scripted HTTP server: retries, idempotency keys, encoding, redaction, curl."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import types
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import allure
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.loader import load_contract
from harness import allure_http
from harness.client import ApiClient, Exchange, NotJsonError, PlannedRequest, TransportError
from harness.target import Target
from suites.test_robustness import _send_raw

# --------------------------------------------------------------------------- scripted server

SLOW = 0.2  # seconds a /slow/ path takes to answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    server: ScriptedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        record = {
            "method": self.command,
            "path": split.path,
            "query": split.query,
            "body": raw.decode("utf-8", errors="replace"),
            "headers": dict(self.headers.items()),
        }
        step = self.server.record_and_next(record)
        if split.path.startswith("/slow/"):  # unscripted: answer in SLOW seconds, counting requests in flight
            with self.server.lock:
                self.server.in_flight += 1
                self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
            time.sleep(SLOW)
            with self.server.lock:
                self.server.in_flight -= 1
        if step.get("delay"):
            time.sleep(step["delay"])
        status = step.get("status", 200)
        if "text" in step:
            payload, content_type = step["text"].encode(), "text/plain"
        elif status == 200:
            payload, content_type = json.dumps(record).encode(), "application/json"
        else:
            error = step.get("json", {"error": {"type": "api_error", "status": status}})
            payload = json.dumps(error).encode()
            content_type = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:12]}")
        for name, value in step.get("headers", {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = _handle


class ScriptedServer(ThreadingHTTPServer):
    """Answers with the scripted steps in order, then echoes the request back as JSON (200)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.steps: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.in_flight = self.most_in_flight = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def script(self, *steps: dict[str, Any]) -> None:
        with self.lock:
            self.steps.extend(steps)

    def reset(self) -> None:
        with self.lock:
            self.steps.clear()
            self.requests.clear()
            self.in_flight = self.most_in_flight = 0

    def record_and_next(self, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(record)
            return self.steps.pop(0) if self.steps else {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on a deliberately slow answer is expected


@pytest.fixture(scope="module")
def _server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    thread = threading.Thread(target=server.serve_forever, name="scripted-http", daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(_server: ScriptedServer) -> ScriptedServer:
    _server.reset()
    return _server


@pytest.fixture
def api_key() -> str:
    return f"sk_test_{uuid.uuid4().hex}"


@pytest.fixture
def seen() -> list[Exchange]:
    return []


@pytest.fixture
def client(server: ScriptedServer, api_key: str, seen: list[Exchange]) -> Iterator[ApiClient]:
    with ApiClient(
        server.base_url,
        api_key,
        timeout=5.0,
        max_retries=3,
        backoff=0.001,
        max_backoff=0.01,
        on_exchange=seen.append,
    ) as api:
        yield api


def _pairs(form: str) -> list[tuple[str, str]]:
    return parse_qsl(form, keep_blank_values=True)


# --------------------------------------------------------------------------- retries


def test_429_with_retry_after_is_retried_and_recorded(
    client: ApiClient, server: ScriptedServer, seen: list[Exchange]
) -> None:
    server.script(*[{"status": 429, "headers": {"Retry-After": "0"}}] * 2)
    resp = client.get("/v1/customers", {"limit": 1})
    assert resp.status == 200, resp.describe()
    assert [ex.status for ex in resp.exchanges] == [429, 429, 200]
    assert [ex.retried for ex in resp.exchanges] == [True, True, False]
    assert [ex.attempt for ex in resp.exchanges] == [1, 2, 3]
    assert resp.retries == 2 and resp.exchange is resp.exchanges[-1]
    assert seen == resp.exchanges, "the hook sees every attempt, in order, with final retried flags"
    assert len(server.requests) == 3
    assert resp.request_id and resp.request_id.startswith("req_")


def test_post_503_retry_reuses_the_idempotency_key(client: ApiClient, server: ScriptedServer) -> None:
    server.script({"status": 503})
    resp = client.post("/v1/customers", {"email": "a@example.com"})
    assert resp.status == 200 and resp.retries == 1
    sent = [r["headers"]["Idempotency-Key"] for r in server.requests]
    assert len(sent) == 2 and sent[0] == sent[1]
    assert resp.exchange.idempotency_key == sent[0]
    assert [ex.idempotency_key for ex in resp.exchanges] == sent
    assert uuid.UUID(sent[0].removeprefix("harness-"))


def test_each_logical_post_gets_its_own_idempotency_key(client: ApiClient, server: ScriptedServer) -> None:
    client.post("/v1/customers", {"name": "a"})
    client.post("/v1/customers", {"name": "a"})
    first, second = (r["headers"]["Idempotency-Key"] for r in server.requests)
    assert first != second


def test_explicit_idempotency_key_is_sent_as_is(client: ApiClient, server: ScriptedServer) -> None:
    server.script({"status": 503})
    resp = client.post("/v1/customers", {"name": "a"}, idempotency_key="my-key-1")
    assert [r["headers"]["Idempotency-Key"] for r in server.requests] == ["my-key-1", "my-key-1"]
    assert resp.exchange.idempotency_key == "my-key-1"


def test_post_without_idempotency_key_is_not_retried(client: ApiClient, server: ScriptedServer) -> None:
    server.script({"status": 503})
    resp = client.post("/v1/customers", {"name": "a"}, idempotency_key=False)
    assert resp.status == 503
    assert len(resp.exchanges) == 1 and not resp.exchange.retried
    assert len(server.requests) == 1
    assert "Idempotency-Key" not in server.requests[0]["headers"]
    assert resp.exchange.idempotency_key is None


def test_retry_false_disables_retries(client: ApiClient, server: ScriptedServer) -> None:
    server.script({"status": 429, "headers": {"Retry-After": "0"}})
    resp = client.get("/v1/customers", retry=False)
    assert resp.status == 429 and resp.retries == 0


def test_exhausted_retries_return_the_last_answer(server: ScriptedServer, api_key: str) -> None:
    server.script(*[{"status": 503}] * 10)
    with ApiClient(server.base_url, api_key, max_retries=2, backoff=0.001) as api:
        resp = api.delete("/v1/customers/cus_1")
    assert resp.status == 503
    assert [ex.retried for ex in resp.exchanges] == [True, True, False]


def test_retry_after_is_capped_by_max_backoff(server: ScriptedServer, api_key: str) -> None:
    server.script({"status": 429, "headers": {"Retry-After": "60"}})
    with ApiClient(server.base_url, api_key, backoff=0.001, max_backoff=0.01) as api:
        started = time.monotonic()
        resp = api.get("/v1/customers")
    assert resp.status == 200 and resp.retries == 1
    assert time.monotonic() - started < 2


def test_timeout_is_retried(server: ScriptedServer, api_key: str) -> None:
    server.script({"delay": 1.0})
    with ApiClient(server.base_url, api_key, timeout=0.2, backoff=0.001) as api:
        resp = api.get("/v1/customers")
    assert resp.status == 200
    assert resp.exchanges[0].status is None and "Timeout" in (resp.exchanges[0].error or "")
    assert resp.exchanges[0].retried


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_transport_error_raises_after_retries(api_key: str) -> None:
    seen: list[Exchange] = []
    api = ApiClient(
        f"http://127.0.0.1:{_dead_port()}",
        api_key,
        timeout=1.0,
        max_retries=2,
        backoff=0.001,
        on_exchange=seen.append,
    )
    with pytest.raises(TransportError) as info:
        api.get("/v1/customers", {"created": {"gte": 1}})
    err = info.value
    assert len(err.exchanges) == 3 and seen == err.exchanges
    assert all(ex.status is None and ex.error for ex in err.exchanges)
    assert [ex.retried for ex in err.exchanges] == [True, True, False]
    message = str(err)
    assert "GET /v1/customers" in message
    assert err.curl in message and err.curl.startswith("curl ")
    assert api_key not in message


def test_post_transport_error_without_idempotency_key_is_not_retried(api_key: str) -> None:
    api = ApiClient(f"http://127.0.0.1:{_dead_port()}", api_key, max_retries=3, backoff=0.001)
    with pytest.raises(TransportError) as info:
        api.post("/v1/customers", {"name": "x"}, idempotency_key=False)
    assert len(info.value.exchanges) == 1


# --------------------------------------------------------------------------- encoding


def test_get_encodes_nested_params_in_the_query(client: ApiClient, server: ScriptedServer) -> None:
    params = {"created": {"gte": 1, "lt": 5}, "expand": ["data.customer"], "limit": 3, "livemode": False}
    resp = client.get("/v1/invoices", params)
    sent = server.requests[0]
    assert sent["method"] == "GET" and sent["body"] == ""
    pairs = _pairs(sent["query"])
    assert ("created[gte]", "1") in pairs and ("created[lt]", "5") in pairs
    assert ("expand[0]", "data.customer") in pairs or ("expand[]", "data.customer") in pairs
    assert ("limit", "3") in pairs and ("livemode", "false") in pairs
    assert resp.exchange.params == {
        "created": {"gte": "1", "lt": "5"},
        "expand": ["data.customer"],
        "limit": "3",
        "livemode": "false",
    }
    assert resp.exchange.path == "/v1/invoices"
    assert resp.exchange.url.startswith(f"{server.base_url}/v1/invoices?")


def test_delete_puts_params_in_the_query(client: ApiClient, server: ScriptedServer) -> None:
    client.delete("/v1/customers/cus_1", {"expand": ["x"]})
    sent = server.requests[0]
    assert sent["method"] == "DELETE" and sent["body"] == ""
    assert _pairs(sent["query"]) in ([("expand[0]", "x")], [("expand[]", "x")])


def test_post_form_encodes_nested_params(client: ApiClient, server: ScriptedServer) -> None:
    params = {
        "customer": "cus_1",
        "metadata": {"order id": "a&b=c", "note": "hé llo"},
        "items": [{"price": "price_1", "quantity": 2}],
        "auto_advance": True,
    }
    resp = client.post("/v1/invoices", params)
    sent = server.requests[0]
    assert sent["query"] == ""
    assert sent["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert _pairs(sent["body"]) == [
        ("customer", "cus_1"),
        ("metadata[order id]", "a&b=c"),
        ("metadata[note]", "hé llo"),
        ("items[0][price]", "price_1"),
        ("items[0][quantity]", "2"),
        ("auto_advance", "true"),
    ]
    assert resp.exchange.params["items"] == [{"price": "price_1", "quantity": "2"}]


def test_raw_body_is_sent_verbatim(client: ApiClient, server: ScriptedServer) -> None:
    resp = client.post("/v1/customers", raw_body=b"a[0]=1&a[2]=2", idempotency_key=False)
    assert server.requests[0]["body"] == "a[0]=1&a[2]=2"
    assert resp.exchange.raw_body
    assert resp.exchange.params == {"a[0]": "1", "a[2]": "2"}, "malformed bodies fall back to flat pairs"
    with pytest.raises(ValueError, match="either params or raw_body"):
        client.post("/v1/customers", {"a": 1}, raw_body=b"a=1")


# --------------------------------------------------------------------------- auth and accounts


def test_auth_header_and_per_call_override(client: ApiClient, server: ScriptedServer, api_key: str) -> None:
    other = f"sk_test_{uuid.uuid4().hex}"
    client.get("/v1/customers")
    client.get("/v1/customers", api_key=other)
    client.get("/v1/customers", api_key=None)
    auths = [r["headers"].get("Authorization") for r in server.requests]
    assert auths == [f"Bearer {api_key}", f"Bearer {other}", None]


def test_with_key_shares_settings_and_hook(
    client: ApiClient, server: ScriptedServer, seen: list[Exchange], api_key: str
) -> None:
    other = f"sk_test_{uuid.uuid4().hex}"
    sibling = client.with_key(other)
    assert sibling.on_exchange is client.on_exchange and sibling.max_retries == client.max_retries
    server.script({"status": 503})
    resp = sibling.get("/v1/customers", headers={"Stripe-Account": "acct_1"})
    assert [r["headers"]["Authorization"] for r in server.requests] == [f"Bearer {other}"] * 2
    assert server.requests[0]["headers"]["Stripe-Account"] == "acct_1"
    assert seen == resp.exchanges
    assert client.api_key == api_key, "the original client keeps its own key"
    assert other not in json.dumps(resp.exchange.to_dict())


def test_writes_counts_every_request_but_reads_for_the_client_and_its_siblings(
        client: ApiClient, server: ScriptedServer) -> None:
    sibling = client.with_key(f"sk_test_{uuid.uuid4().hex}")
    client.get("/v1/customers")
    client.request_all([PlannedRequest("GET", "/v1/invoices"), PlannedRequest("GET", "/v1/invoiceitems")])
    assert client.writes == 0
    client.post("/v1/customers", {"name": "a"})
    sibling.delete("/v1/invoices/in_1")
    client.request("PATCH", "/v1/invoices/in_1")
    assert client.writes == sibling.writes == 3
    assert client.sent == sibling.sent == 6  # every request, reads included


def test_a_thread_sibling_counts_its_own_writes_and_shares_the_rest(
        client: ApiClient, server: ScriptedServer, seen: list[Exchange], api_key: str) -> None:
    gated: list[str] = []
    client.gate(lambda: gated.append("gate"))
    sibling = client.thread_sibling()
    sibling.post("/v1/customers", {"name": "a"})
    sibling.get("/v1/customers")
    assert (sibling.writes, sibling.sent) == (1, 2)
    assert (client.writes, client.sent) == (0, 0), "the other thread's requests change nothing it reuses"
    client.delete("/v1/invoices/in_1")
    assert (client.writes, sibling.writes) == (1, 1)
    assert sibling.api_key == api_key and sibling.on_exchange is client.on_exchange
    assert [r["headers"]["Authorization"] for r in server.requests] == [f"Bearer {api_key}"] * 3
    assert gated == ["gate"] * 3, "the run's pace and budget count both threads' requests"
    assert len(seen) == 3


# --------------------------------------------------------------------------- redaction and reporting


def test_api_key_never_appears_in_records(client: ApiClient, server: ScriptedServer, api_key: str) -> None:
    server.script({"status": 503})
    responses = [
        client.post("/v1/customers", {"description": f"echo {api_key}"}),  # even when echoed back
        client.get("/v1/customers", {"created": {"gte": 1}}),
        client.get("/v1/customers", headers={"X-Debug": api_key}),
    ]
    for resp in responses:
        for ex in resp.exchanges:
            assert api_key not in json.dumps(ex.to_dict(), ensure_ascii=False)
            assert api_key not in ex.curl()
            assert api_key not in repr(ex)
        assert api_key not in resp.describe()
    assert resp.exchange.request_headers["Authorization"].startswith("Bearer sk_test_")
    assert api_key in json.dumps(server.requests[-1]), "sanity: the key was really sent"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_secret_in_the_params_is_scrubbed_from_every_field_of_the_record(
    client: ApiClient, server: ScriptedServer, api_key: str, method: str
) -> None:
    """The raw fields, not only the JSON form (`to_dict` scrubs once more as it writes)."""
    resp = client.request(method, "/v1/customers", {"description": f"key {api_key}", "limit": 3})
    ex = resp.exchange
    recorded = [ex.url, ex.path, ex.request_body or "", json.dumps(ex.params), json.dumps(ex.body), repr(ex)]
    assert not [text for text in recorded if api_key in text]
    assert ex.params["description"].startswith("key sk_test_") and ex.params["limit"] == "3"
    assert api_key in json.dumps(server.requests[-1]), "sanity: the key was really sent"


def test_a_clean_request_is_recorded_as_sent(client: ApiClient, server: ScriptedServer) -> None:
    """Without a secret in them, the recorded query string and form body are the bytes that went out."""
    get = client.get("/v1/customers", {"email": "a b@example.com", "limit": 2}).exchange
    assert get.url == f"{server.base_url}/v1/customers?{server.requests[-1]['query']}"
    post = client.post("/v1/customers", {"metadata": {"k": "a&b=c"}, "name": "hé"}).exchange
    assert post.request_body == server.requests[-1]["body"]
    assert post.params == {"metadata": {"k": "a&b=c"}, "name": "hé"}


def test_the_operation_is_recorded_on_every_attempt(
    client: ApiClient, server: ScriptedServer, seen: list[Exchange]
) -> None:
    server.script({"status": 503})
    resp = client.get("/v1/customers/cus_1", operation="RetrieveCustomer")
    assert [ex.operation_id for ex in resp.exchanges] == ["RetrieveCustomer", "RetrieveCustomer"]
    assert client.get("/v1/customers/cus_1").exchange.operation_id is None, "unnamed: the path alone says"
    assert seen[-1].to_dict()["operation_id"] is None


def test_describe_reads_well(client: ApiClient, server: ScriptedServer) -> None:
    server.script({"status": 400, "json": {"error": {"type": "invalid_request_error", "pad": "x" * 10_000}}})
    resp = client.post("/v1/invoices", {"customer": "cus_1"})
    text = resp.describe()
    assert text.splitlines()[0].startswith("POST /v1/invoices -> 400")
    assert '"customer": "cus_1"' in text
    assert "invalid_request_error" in text
    assert "truncated" in text and len(text) < 6000
    assert "curl " in text and "$HARNESS_API_KEY" in text


def test_json_property_fails_clearly_on_non_json(client: ApiClient, server: ScriptedServer) -> None:
    server.script({"status": 502, "text": "Bad gateway"})
    resp = client.get("/v1/customers")
    assert resp.body == "Bad gateway"
    with pytest.raises(NotJsonError, match="GET /v1/customers -> 502"):
        _ = resp.json
    assert client.get("/v1/customers").json["method"] == "GET"


def _run_curl(line: str, api_key: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HARNESS_API_KEY"] = api_key
    done = subprocess.run(
        ["bash", "-c", line], env=env, capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 0, f"{line}\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("GET", {"created": {"gte": 1}, "expand": ["data.customer", "data.x"], "email": "a b+c@example.com"}),
        ("POST", {"metadata": {"order id": "a&b=c'\"$HOME", "note": "hé"}, "items": [{"price": "p_1"}]}),
        ("POST", {}),
        ("DELETE", {}),
    ],
)
def test_curl_line_reproduces_the_request(
    client: ApiClient, server: ScriptedServer, api_key: str, method: str, params: dict[str, Any]
) -> None:
    resp = client.request(method, "/v1/customers/cus_1", params, headers={"Stripe-Account": "acct_9"})
    original = server.requests[-1]
    echoed = _run_curl(resp.exchange.curl(), api_key)
    assert echoed["method"] == original["method"]
    assert echoed["path"] == original["path"]
    assert _pairs(echoed["query"]) == _pairs(original["query"])
    assert _pairs(echoed["body"]) == _pairs(original["body"])
    for header in ("Authorization", "Idempotency-Key", "Stripe-Account"):
        assert echoed["headers"].get(header) == original["headers"].get(header), header


# --------------------------------------------------------------------------- allure rendering


def test_record_exchange_without_allure_listener(client: ApiClient) -> None:
    allure_http.record_exchange(client.get("/v1/customers").exchange)


def test_record_exchange_attachments_are_scrubbed(
    client: ApiClient, server: ScriptedServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles: list[str] = []
    attachments: dict[str, tuple[str, Any]] = {}

    class _Step:
        def __init__(self, title: str) -> None:
            titles.append(title)

        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    def _attach(body: str, name: str, attachment_type: Any) -> None:
        attachments[name] = (body, attachment_type)

    monkeypatch.setattr(allure, "step", _Step)
    monkeypatch.setattr(allure, "attach", _attach)
    server.script({"status": 503})
    resp = client.post("/v1/invoices", {"description": api_key})
    for ex in resp.exchanges:
        allure_http.record_exchange(ex)
    assert titles[0] == "POST /v1/invoices \u2192 503, retrying (attempt 1)"
    assert titles[1].startswith("POST /v1/invoices \u2192 200 (") and titles[1].endswith(" ms)")
    assert set(attachments) == {"request", "response", "curl"}
    assert attachments["request"][1] == allure.attachment_type.JSON
    assert attachments["curl"][1] == allure.attachment_type.TEXT
    request = json.loads(attachments["request"][0])
    assert request["method"] == "POST" and "description" in request["params"]
    assert json.loads(attachments["response"][0])["status"] == 200
    for body, _ in attachments.values():
        assert api_key not in body

    titles.clear()
    failed = Exchange(
        method="GET", url="http://x/v1/a", path="/v1/a", params={}, request_headers={}, error="boom"
    )
    allure_http.record_exchange(failed)
    assert titles == ["GET /v1/a \u2192 transport error (0 ms)"]


def test_compact_exchanges_are_lines_until_a_failure_attaches_them_in_full(
    client: ApiClient, server: ScriptedServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    attachments: dict[str, str] = {}
    monkeypatch.delenv(allure_http.FULL_ENV, raising=False)
    monkeypatch.setattr(allure, "attach", lambda body, name, attachment_type: attachments.__setitem__(name, body))
    allure_http.forget_kept()
    for n in range(allure_http.KEPT + 5):
        allure_http.log_exchange(client.post("/v1/invoices", {"description": f"{api_key} {n}"}).exchange)
    assert not attachments  # nothing written while the test runs
    assert allure_http.attach_kept() == allure_http.KEPT
    [kept_name] = [name for name in attachments if name.startswith("last ")]
    kept = json.loads(attachments[kept_name])
    assert len(kept) == allure_http.KEPT and kept[-1]["response"]["status"] == 200
    assert kept[-1]["request"]["params"]["description"].endswith(f" {allure_http.KEPT + 4}")
    assert kept[-1]["curl"].startswith("curl ")
    assert allure_http.attach_kept() == 0  # attached once
    assert allure_http.attach_compact() == allure_http.KEPT + 5
    [lines_name] = [name for name in attachments if name.startswith("exchanges (")]
    lines = attachments[lines_name].splitlines()
    assert len(lines) == allure_http.KEPT + 5 and lines[0].startswith("POST /v1/invoices \u2192 200 (")
    assert all(api_key not in body for body in attachments.values())
    long = client.get("/v1/invoices/" + "0" * 5000).exchange
    assert len(allure_http.compact_line(long)) < allure_http.COMPACT_PATH + 100


def test_exchanges_outside_tests_are_not_reported_even_in_full_mode(
    client: ApiClient, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    monkeypatch.setenv(allure_http.FULL_ENV, "1")
    monkeypatch.setattr(allure_http, "record_exchange", lambda ex: steps.append(ex.path))
    allure_http.forget_kept()
    with allure_http.outside_tests():  # a worker's clean-up, in the session teardown every test shows
        allure_http.log_exchange(client.delete("/v1/invoices/in_1").exchange)
    allure_http.log_exchange(client.get("/v1/invoices").exchange)
    assert steps == ["/v1/invoices"]
    monkeypatch.delenv(allure_http.FULL_ENV)
    with allure_http.outside_tests():
        allure_http.log_exchange(client.delete("/v1/invoices/in_2").exchange)
    assert allure_http.attach_kept() == 0 and allure_http.attach_compact() == 0


# The URL fast path: a URL the client sends as built must be exactly what requests' own preparation would send.
_URL_ALPHABET = "aZ09-._~:/?#[]@!$&'()*+,;=% \"<>{}|\\^`é\x7f"


@pytest.mark.parametrize("base", ["http://127.0.0.1:12111", "https://Staging.Example.com/api", "http://bücher.example"])
@given(tail=st.text(alphabet=_URL_ALPHABET, max_size=40) | st.sampled_from(
    ["/v1/x?a=%41", "/v1/./x", "/v1/../x", "/v1/x?", "/v1/x?a[0]=%2F&b=%zz", "/v1/x/..", "/v1/%2e%2E/x"]))
def test_a_url_sent_as_built_is_the_one_requests_would_send(base: str, tail: str) -> None:
    import requests

    from harness.client import _prepared_url

    url = f"{base}/{tail}"
    try:
        expected = requests.Request("GET", url).prepare().url
    except requests.RequestException:
        with pytest.raises(requests.RequestException):
            _prepared_url(url)
        return
    assert _prepared_url(url) == expected


def test_a_test_of_many_exchanges_shows_the_first_and_last_and_compresses_them_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gzip

    attachments: dict[str, Any] = {}
    monkeypatch.delenv(allure_http.FULL_ENV, raising=False)
    monkeypatch.setattr(allure, "attach",
                        lambda body, name, attachment_type, extension=None: attachments.__setitem__(name, body))
    allure_http.forget_kept()
    total = allure_http.COMPACT_SHOWN + 50
    for n in range(total):
        allure_http.log_exchange(Exchange(method="GET", url=f"http://x/v1/a/{n}", path=f"/v1/a/{n}", params={},
                                          request_headers={}, status=200))
    assert allure_http.attach_compact() == total
    [shown_name] = [name for name in attachments if name.startswith("exchanges (")]
    shown = attachments[shown_name].splitlines()
    assert len(shown) == allure_http.COMPACT_SHOWN + 1 and "50 more" in shown[allure_http.COMPACT_SHOWN // 2]
    assert shown[0].startswith("GET /v1/a/0 ") and shown[-1].startswith(f"GET /v1/a/{total - 1} ")
    every = gzip.decompress(attachments["exchanges.txt.gz"]).decode().splitlines()
    assert len(every) == total and every[123].startswith("GET /v1/a/123 ")


# --------------------------------------------------------------------------- batches (request_all)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_batch_is_answered_and_recorded_in_the_order_given(
        server: ScriptedServer, api_key: str, concurrency: int) -> None:
    seen: list[tuple[str, str]] = []
    hook = lambda ex: seen.append((ex.path, threading.current_thread().name))  # noqa: E731
    planned = [PlannedRequest("GET", f"/slow/{i}", {"n": i}, operation=f"Op{i}") for i in range(4)]
    with ApiClient(server.base_url, api_key, on_exchange=hook, concurrency=concurrency) as api:
        answers = api.request_all(planned)
    assert [a.json["path"] for a in answers] == [f"/slow/{i}" for i in range(4)]
    assert [a.exchange.operation_id for a in answers] == [f"Op{i}" for i in range(4)]
    # The hook sees the batch as if it had been sent one request after another, in the caller's thread.
    assert seen == [(f"/slow/{i}", threading.current_thread().name) for i in range(4)]
    assert server.most_in_flight == concurrency


def test_a_batch_sends_each_request_s_own_body_headers_and_key(server: ScriptedServer, api_key: str) -> None:
    planned = [PlannedRequest("POST", f"/slow/{i}", headers={"X-Case": str(i)}, raw_body=f"a[{i}]=b".encode(),
                              content_type="application/x-www-form-urlencoded") for i in range(3)]
    with ApiClient(server.base_url, api_key, concurrency=3) as api:
        answers = api.request_all([*planned, PlannedRequest("PUT", "/slow/put")])
    echoed = [a.json for a in answers]
    assert [e["body"] for e in echoed] == ["a[0]=b", "a[1]=b", "a[2]=b", ""]
    assert [e["headers"].get("X-Case") for e in echoed] == ["0", "1", "2", None]
    assert all(e["headers"]["Authorization"] == f"Bearer {api_key}" for e in echoed)
    assert echoed[0]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert echoed[3]["method"] == "PUT"


def test_a_batch_keeps_no_more_than_its_concurrency_in_flight(server: ScriptedServer, api_key: str) -> None:
    with ApiClient(server.base_url, api_key, concurrency=2) as api:
        api.request_all([PlannedRequest("GET", f"/slow/{i}") for i in range(5)])
    assert server.most_in_flight == 2


def test_a_batch_without_answers_raises_after_the_hook_saw_every_attempt(api_key: str) -> None:
    seen: list[Exchange] = []
    api = ApiClient(f"http://127.0.0.1:{_dead_port()}", api_key, timeout=1.0, max_retries=1, backoff=0.001,
                    on_exchange=seen.append, concurrency=3)
    with pytest.raises(TransportError) as info:
        api.request_all([PlannedRequest("GET", f"/v1/customers/cus_{i}") for i in range(3)])
    api.close()
    assert [ex.path for ex in seen] == [f"/v1/customers/cus_{i}" for i in range(3) for _ in range(2)]
    assert info.value.exchanges == seen[:2]  # the first request's, in the order given


def test_concurrency_below_one_is_refused(api_key: str) -> None:
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        ApiClient("http://127.0.0.1:9", api_key, concurrency=0)


@pytest.mark.parametrize(("given", "expected"), [("8", 8), (" 1 ", 1), ("64", 64)])
def test_the_concurrency_option_takes_a_whole_number(given: str, expected: int) -> None:
    from harness.plugin import concurrency

    assert concurrency(types.SimpleNamespace(getoption=lambda name: given)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["0", "65", "abc", "2.5", "-1", "\u00b2", ""])
def test_a_concurrency_a_person_must_fix_is_a_usage_error(given: str) -> None:
    from harness.plugin import concurrency

    with pytest.raises(pytest.UsageError,
                       match=r"--concurrency \(HARNESS_CONCURRENCY\) takes a whole number of requests from 1 to 64"):
        concurrency(types.SimpleNamespace(getoption=lambda name: given))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- requests sent outside the client
# The suites send a header twice with http.client (suites/test_robustness.py `_send_raw`): the run's pace and budget
# still count those requests, which carry the client's default headers.

RAW_KEY, RAW_OTHER = "sk_test_rawsendkey", "sk_test_rawsendother"
TWICE = [("Authorization", f"Bearer {RAW_KEY}"), ("Authorization", f"Bearer {RAW_OTHER}")]


def _send_raw_twice(server: ScriptedServer, api: ApiClient) -> tuple:
    target = Target(server.base_url, RAW_KEY, RAW_OTHER, embedded=False)
    return _send_raw(target, api, load_contract()["RetrieveInvoice"], "/v1/invoices/in_1", None, TWICE)


def test_a_raw_request_passes_the_gates_on_every_attempt_with_the_default_headers(server: ScriptedServer) -> None:
    server.script({"status": 429, "headers": {"Stripe-Should-Retry": "true"}})
    passed: list[int] = []
    with ApiClient(server.base_url, RAW_KEY, default_headers={"Stripe-Version": "2026-10-28.endive"}) as api:
        api.gate(lambda: passed.append(len(server.requests)))
        status, _, _, _, curl = _send_raw_twice(server, api)
    assert status == 200
    assert passed == [0, 1]  # before the 429, and before its retry
    assert all(r["headers"]["Stripe-Version"] == "2026-10-28.endive" for r in server.requests)
    assert RAW_KEY not in curl and RAW_OTHER not in curl and "Stripe-Version: 2026-10-28.endive" in curl


def test_a_gate_that_refuses_stops_the_raw_request_unsent(server: ScriptedServer) -> None:
    def spent() -> None:
        raise RuntimeError("budget spent")

    with ApiClient(server.base_url, RAW_KEY) as api:
        api.gate(spent)
        with pytest.raises(RuntimeError, match="budget spent"):
            _send_raw_twice(server, api)
    assert server.requests == []
