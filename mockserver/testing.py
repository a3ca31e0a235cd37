"""Drive the ASGI app in-process, without a socket: for the project's tests and for quick experiments."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson

from mockserver.app import MockApp
from wire.codec import encode_body, encode_query

TEST_KEY = "sk_test_inprocess0000000001"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error(self) -> dict:
        return self.body.get("error", {}) if isinstance(self.body, dict) else {}


def call_raw(app: MockApp, method: str, path: str, *, query: bytes = b"", body: bytes = b"",
             headers: dict[str, str] | list[tuple[str, str]] | None = None) -> Answer:
    """One request with raw bytes: what a fuzzer sends. `path` is as on the wire (percent-encoded); `headers`
    may be a list of pairs to send a header more than once."""
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    scope = {
        "type": "http", "method": method, "path": unquote(path, errors="replace"), "query_string": query,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs],
    }
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    resp_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        parsed = payload.decode("utf-8", "replace")
    return Answer(start["status"], resp_headers, parsed)


class InProcessClient:
    """A tiny client for the app: encodes params like the real client and parses the JSON answer."""

    def __init__(self, app: MockApp | None = None, api_key: str | None = TEST_KEY):
        self.app = app or MockApp()
        self.api_key = api_key

    def request(self, method: str, path: str, params: dict | None = None, *, api_key: Any = ...,
                headers: dict[str, str] | None = None) -> Answer:
        key = self.api_key if api_key is ... else api_key
        all_headers = dict(headers or {})
        if key is not None:
            all_headers.setdefault("authorization", f"Bearer {key}")
        if method.upper() == "POST":
            all_headers.setdefault("content-type", "application/x-www-form-urlencoded")
            return call_raw(self.app, "POST", path, body=encode_body(params or {}), headers=all_headers)
        return call_raw(self.app, method.upper(), path, query=encode_query(params or {}).encode(),
                        headers=all_headers)

    def get(self, path: str, params: dict | None = None, **kw: Any) -> Answer:
        return self.request("GET", path, params, **kw)

    def post(self, path: str, params: dict | None = None, **kw: Any) -> Answer:
        return self.request("POST", path, params, **kw)

    def delete(self, path: str, params: dict | None = None, **kw: Any) -> Answer:
        return self.request("DELETE", path, params, **kw)


def ok(answer: Answer, operation_id: str) -> dict:
    """A 200 whose body satisfies the operation's contract schema (for tests)."""
    from contracts.loader import load_contract

    assert answer.status == 200, answer.body
    errors = load_contract()[operation_id].response_errors(200, answer.body)
    assert errors == [], errors
    return answer.body


def listed(client: InProcessClient, path: str, operation_id: str, **params: Any) -> list[str]:
    """The IDs a list endpoint answers with `params`, in order, once the answer is checked: a 200 valid against the
    operation's contract schema whose ``url`` is `path` (for tests)."""
    body = ok(client.get(path, params), operation_id)
    assert body["url"] == path, body["url"]
    return [obj["id"] for obj in body["data"]]


def fails(answer: Answer, status: int = 400, param: str | None = None, code: str | None = None,
          type_: str | None = None) -> dict:
    """A Stripe-shaped error answer with the given status (and param, code, type when given) (for tests)."""
    assert answer.status == status, answer.body
    error = answer.error
    expected_type = type_ or ("card_error" if status == 402 else "invalid_request_error")
    assert error.get("type") == expected_type and error.get("message"), error
    if param is not None:
        assert error.get("param") == param, error
    if code is not None:
        assert error.get("code") == code, error
    return error


def seed_objects(app: MockApp, api_key: str) -> dict[str, str]:
    """One real object of each kind the operations' paths name, in the account of `api_key`: path parameter
    name -> its ID (`invoice` is a draft with one line). For fuzzers, so requests reach the handlers."""
    c = InProcessClient(app, api_key=api_key)
    customer = c.post("/v1/customers", {"email": "fuzz@example.com"}).body
    invoice = c.post("/v1/invoices", {"customer": customer["id"]}).body
    invoice = c.post(f"/v1/invoices/{invoice['id']}/add_lines", {"lines": [{"amount": 500}]}).body
    item = c.post("/v1/invoiceitems", {"customer": customer["id"], "amount": 300}).body
    session = c.post("/v1/identity/verification_sessions", {"type": "document"}).body
    template = c.post("/v1/test_helpers/invoice_rendering_templates", {"nickname": "fuzz"}).body
    account = c.post("/v1/test_helpers/financial_connections/accounts", {}).body
    auth = c.post("/v1/test_helpers/issuing/authorizations", {"amount": 100}).body
    ids = {
        "customer": customer["id"], "invoice": invoice["id"], "invoiceitem": item["id"],
        "line_item_id": invoice["lines"]["data"][0]["id"], "session": session["id"], "template": template["id"],
        "account": account["id"], "authorization": auth["id"], "card": auth["card"]["id"],
        "cardholder": auth["cardholder"],
    }
    if not all(isinstance(v, str) for v in ids.values()):
        raise RuntimeError(f"seeding the mock failed: {ids}")
    return ids
