"""Regression tests: every input of the robustness report (never a 5xx, a stall or a half-saved change) and of
"a refused request has already acted" (validate before acting; Idempotency-Key length), with Stripe's answer.

In-process through `InProcessClient`; the inputs that only a real socket can send (upgrades, slow headers, many
connections, pipelining) are in tests/test_mock_server_limits.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from mockserver.app import MockApp
from mockserver.context import Context
from mockserver.errors import ApiError
from mockserver.hooks import Hooks
from mockserver.messages import Request
from mockserver.testing import InProcessClient, call_raw, fails, ok

INT64_MAX = str(2**63 - 1)
FAST = 1.0  # seconds: a refusal is cheap


@pytest.fixture
def customer(client: InProcessClient) -> str:
    return client.post("/v1/customers", {"email": "c@example.com"}).body["id"]


@pytest.fixture
def draft(client: InProcessClient, customer: str) -> dict:
    return ok(client.post("/v1/invoices", {"customer": customer}), "CreateInvoice")


def _items(client: InProcessClient) -> list[dict]:
    answer = client.get("/v1/invoiceitems", {"limit": 100})
    assert answer.status == 200, answer.body  # a half-saved item used to make every later list a 500
    return answer.body["data"]


def _timed(call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    answer = call()
    assert time.perf_counter() - start < FAST, "a refusal must be cheap"
    return answer


# -- 1. a stall: huge decimal exponents are refused before any arithmetic ------------------------------------


@pytest.mark.parametrize("value", ["1e999999", "1e300000", "1E5", "1.0000000000001", "123456789.5", "--1", " 1",
                                   "1_000", "Infinity", "NaN"])
def test_out_of_range_decimal_is_a_quick_400_naming_it(client: InProcessClient, customer: str, value: str) -> None:
    answer = _timed(lambda: client.post("/v1/invoiceitems", {"customer": customer, "currency": "usd",
                                                              "unit_amount_decimal": value}))
    fails(answer, 400, param="unit_amount_decimal")
    assert _items(client) == []


def test_decimal_with_twelve_places_is_accepted(client: InProcessClient, customer: str) -> None:
    item = ok(client.post("/v1/invoiceitems", {"customer": customer, "currency": "usd",
                                               "unit_amount_decimal": "12.000000000001"}), "CreateInvoiceItem")
    assert item["amount"] == 12


# -- 2. overflow: integers have Stripe's bounds, derived amounts are checked before storing -------------------


def test_quantity_decimal_beyond_bounds_is_refused_and_nothing_is_stored(client: InProcessClient,
                                                                         customer: str) -> None:
    fails(client.post("/v1/invoiceitems", {"customer": customer, "amount": 1, "quantity_decimal": "1e20"}), 400,
          param="quantity_decimal")
    assert _items(client) == []
    assert client.get("/v1/invoices").status == 200


def test_add_lines_with_int64_amounts_is_refused_whole(client: InProcessClient, draft: dict) -> None:
    path = f"/v1/invoices/{draft['id']}/add_lines"
    lines = [{"amount": INT64_MAX}] * 3
    fails(client.post(path, {"lines": lines}), 400, param="lines[0][amount]")
    after = ok(client.get(f"/v1/invoices/{draft['id']}"), "RetrieveInvoice")
    assert after["lines"]["data"] == [] and after["total"] == 0
    assert _items(client) == []


def test_amount_at_eight_digits_is_accepted_and_one_more_refused(client: InProcessClient, customer: str) -> None:
    ok(client.post("/v1/invoiceitems", {"customer": customer, "amount": 99_999_999}), "CreateInvoiceItem")
    fails(client.post("/v1/invoiceitems", {"customer": customer, "amount": 100_000_000}), 400, param="amount",
          code="parameter_invalid_integer")
    fails(client.post("/v1/invoiceitems", {"customer": customer, "amount": -100_000_000}), 400, param="amount")


@pytest.mark.parametrize("days", [INT64_MAX, str(-2**63), "-1"])
def test_days_until_due_past_any_date_is_refused(client: InProcessClient, customer: str, days: str) -> None:
    """Found by the chaos run: -2**63 days overflowed the due date and the mock answered 500."""
    fails(client.post("/v1/invoices", {"customer": customer, "collection_method": "send_invoice",
                                       "days_until_due": days}), 400, param="days_until_due")
    assert client.get("/v1/invoices").body["data"] == []


@pytest.mark.parametrize(("quantity", "param"), [({"quantity": INT64_MAX}, "quantity"),
                                                 ({"quantity_decimal": "2"}, "quantity_decimal")])
def test_unit_amount_times_quantity_out_of_range_is_refused(client: InProcessClient, customer: str,
                                                            quantity: dict, param: str) -> None:
    answer = client.post("/v1/invoiceitems", {"customer": customer, "currency": "usd",
                                              "unit_amount_decimal": "99999999", **quantity})
    fails(answer, 400, param=param)
    assert _items(client) == []


def test_preview_with_huge_quantity_decimal_is_refused(client: InProcessClient, customer: str) -> None:
    answer = client.post("/v1/invoices/create_preview", {
        "customer": customer, "invoice_items": [{"amount": 1, "quantity_decimal": "1e20"}]})
    fails(answer, 400, param="invoice_items[0][quantity_decimal]")


def test_integer_beyond_64_bits_is_refused_everywhere(client: InProcessClient, draft: dict) -> None:
    for value in (str(2**63), str(-(2**63) - 1), "9" * 5000):
        fails(client.get("/v1/invoices", {"created": {"gte": value}}), 400, param="created[gte]",
              code="parameter_invalid_integer")
        fails(client.post(f"/v1/invoices/{draft['id']}", {"due_date": value}), 400, param="due_date")


# -- 3. atomic, and idempotent on failure --------------------------------------------------------------------


def test_refused_add_lines_replayed_with_a_key_saves_nothing(client: InProcessClient, draft: dict) -> None:
    path = f"/v1/invoices/{draft['id']}/add_lines"
    params = {"lines": [{"amount": INT64_MAX}] * 3}
    for _ in range(2):
        answer = client.post(path, params, headers={"idempotency-key": "retry-1"})
        fails(answer, 400, param="lines[0][amount]")
        assert "idempotent-replayed" not in answer.headers  # refused by validation: no result was saved
    assert ok(client.get(f"/v1/invoices/{draft['id']}"), "RetrieveInvoice")["lines"]["data"] == []
    # the key is still free for the request the client meant
    good = ok(client.post(path, {"lines": [{"amount": 5}]}, headers={"idempotency-key": "retry-1"}),
              "AddInvoiceLines")
    assert len(good["lines"]["data"]) == 1


class FailAfterActing(Hooks):
    """A handler that changes state and then fails (a late 4xx rule, or a bug)."""

    def __init__(self, error: Exception):
        self.error = error
        self.calls = 0

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        result = handler(ctx)
        if req.operation is not None and req.operation.operation_id in ("AddInvoiceLines", "PayInvoice"):
            self.calls += 1
            raise self.error
        return result


@pytest.mark.parametrize("error", [RuntimeError("bug"), ApiError(400, "late rule", code="invoice_not_editable")])
def test_a_request_that_fails_halfway_leaves_no_trace(error: Exception) -> None:
    app = MockApp(hooks=FailAfterActing(error))
    client = InProcessClient(app)
    customer = client.post("/v1/customers", {}).body["id"]
    inv = client.post("/v1/invoices", {"customer": customer}).body
    before = client.get(f"/v1/invoices/{inv['id']}").body
    answer = client.post(f"/v1/invoices/{inv['id']}/add_lines", {"lines": [{"amount": 5}, {"amount": 7}]})
    assert answer.status == (500 if isinstance(error, RuntimeError) else 400)
    assert client.get(f"/v1/invoices/{inv['id']}").body == before
    assert client.get("/v1/invoiceitems").body["data"] == []
    # pay finalizes (numbers) and pays a draft: all of it is undone, the number too
    client.post(f"/v1/invoices/{inv['id']}/pay", {})
    assert client.get(f"/v1/invoices/{inv['id']}").body == before
    assert client.get("/v1/invoice_payments", {"invoice": inv["id"]}).body["data"] == []


def test_first_result_is_replayed_for_the_same_key_500_included() -> None:
    hooks = FailAfterActing(RuntimeError("bug"))
    client = InProcessClient(MockApp(hooks=hooks))
    customer = client.post("/v1/customers", {}).body["id"]
    inv = client.post("/v1/invoices", {"customer": customer}).body
    path, params = f"/v1/invoices/{inv['id']}/add_lines", {"lines": [{"amount": 5}] * 3}
    first = client.post(path, params, headers={"idempotency-key": "retry-1"})
    second = client.post(path, params, headers={"idempotency-key": "retry-1"})
    assert first.status == second.status == 500
    assert second.headers.get("idempotent-replayed") == "true" and second.body == first.body
    assert hooks.calls == 1  # the endpoint ran once
    assert client.get(f"/v1/invoices/{inv['id']}").body["lines"]["data"] == []


# -- 4. a huge array index ------------------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [4300, 4301, 50_000])
def test_huge_array_index_is_a_400_in_query_and_body(client: InProcessClient, customer: str, digits: int) -> None:
    key = f"expand[{'9' * digits}]=x"
    fails(_timed(lambda: call_raw(client.app, "GET", "/v1/invoices", query=key.encode(),
                                  headers={"authorization": f"Bearer {client.api_key}"})), 400)
    answer = _timed(lambda: call_raw(client.app, "POST", "/v1/invoiceitems",
                                     body=f"customer={customer}&amount=1&{key}".encode(),
                                     headers={"authorization": f"Bearer {client.api_key}",
                                              "content-type": "application/x-www-form-urlencoded"}))
    fails(answer, 400)
    assert _items(client) == []


# -- 6. paths are not normalised ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/invoices/"), ("GET", "/v1//invoices"),
                                              ("POST", "/v1/invoiceitems/"), ("GET", "/v1/invoices//lines"),
                                              ("GET", "//v1/invoices")])
def test_an_empty_segment_is_an_unrecognized_url(client: InProcessClient, method: str, path: str) -> None:
    error = fails(client.request(method, path), 404)
    assert error["message"].startswith("Unrecognized request URL")


def test_an_encoded_slash_is_part_of_the_id(client: InProcessClient, customer: str) -> None:
    fails(client.post("/v1/invoiceitems/%2F", {"amount": 5}), 404, code="resource_missing")
    assert _items(client) == []
    inv = client.post("/v1/invoices", {"customer": customer}).body
    client.post(f"/v1/invoices/{inv['id']}/add_lines", {"lines": [{"amount": 5}]})
    ok(client.post(f"/v1/invoices/{inv['id']}/finalize"), "FinalizeInvoice")
    fails(client.post(f"/v1/invoices/{inv['id']}%2Fvoid"), 404, code="resource_missing")
    assert client.get(f"/v1/invoices/{inv['id']}").body["status"] == "open"


def test_encoded_letters_still_route(client: InProcessClient) -> None:
    ok(client.get("/v1/%69nvoices"), "ListInvoices")


# -- 7 and issue 11 item 2. Idempotency-Key length -----------------------------------------------------------


@pytest.mark.parametrize("key", ["", "k" * 256, "k" * 1_000_000])
def test_idempotency_key_empty_or_too_long_is_refused(client: InProcessClient, customer: str, key: str) -> None:
    answer = client.post("/v1/invoiceitems", {"customer": customer, "amount": 5}, headers={"idempotency-key": key})
    fails(answer, 400, code="idempotency_key_invalid")
    assert _items(client) == []


def test_idempotency_key_of_255_characters_is_used(client: InProcessClient, customer: str) -> None:
    headers = {"idempotency-key": "k" * 255}
    first = ok(client.post("/v1/invoiceitems", {"customer": customer, "amount": 5}, headers=headers),
               "CreateInvoiceItem")
    again = client.post("/v1/invoiceitems", {"customer": customer, "amount": 5}, headers=headers)
    assert again.headers.get("idempotent-replayed") == "true" and again.body["id"] == first["id"]


# -- 8. duplicate headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["authorization", "idempotency-key", "content-type"])
def test_a_control_header_sent_twice_is_refused(client: InProcessClient, customer: str, name: str) -> None:
    values = {"authorization": (f"Bearer {client.api_key}", "Bearer sk_test_someoneelse0000000001"),
              "idempotency-key": ("a", "b"),
              "content-type": ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded")}[name]
    headers = [("authorization", f"Bearer {client.api_key}"), ("content-type", "application/x-www-form-urlencoded")]
    headers = [(k, v) for k, v in headers if k != name] + [(name, values[0]), (name, values[1])]
    answer = call_raw(client.app, "POST", "/v1/invoiceitems", body=f"customer={customer}&amount=5".encode(),
                      headers=headers)
    fails(answer, 400, code="header_duplicated")
    assert _items(client) == []


# -- issue 11 item 1: a refused request has not acted --------------------------------------------------------


def _open_invoice(client: InProcessClient, customer: str) -> dict:
    inv = client.post("/v1/invoices", {"customer": customer}).body
    client.post(f"/v1/invoices/{inv['id']}/add_lines", {"lines": [{"amount": 500}]})
    return inv


def test_pay_with_a_bad_expand_does_not_pay(client: InProcessClient, customer: str) -> None:
    inv = _open_invoice(client, customer)
    client.post(f"/v1/invoices/{inv['id']}/finalize")
    fails(client.post(f"/v1/invoices/{inv['id']}/pay", {"expand": ["number"]}), 400, param="expand[0]")
    assert client.get(f"/v1/invoices/{inv['id']}").body["status"] == "open"
    assert client.get("/v1/invoice_payments", {"invoice": inv["id"]}).body["data"] == []


def test_finalize_with_a_bad_expand_does_not_finalize(client: InProcessClient, customer: str) -> None:
    inv = _open_invoice(client, customer)
    fails(client.post(f"/v1/invoices/{inv['id']}/finalize", {"expand": ["lines.data.nothing"]}), 400,
          param="expand[0]")
    after = client.get(f"/v1/invoices/{inv['id']}").body
    assert after["status"] == "draft" and after["number"] is None


def test_create_item_with_a_bad_expand_creates_nothing(client: InProcessClient, customer: str) -> None:
    fails(client.post("/v1/invoiceitems", {"customer": customer, "amount": 5, "expand": ["description"]}), 400,
          param="expand[0]")
    assert _items(client) == []


def test_create_identity_session_with_a_bad_expand_creates_nothing(client: InProcessClient) -> None:
    fails(client.post("/v1/identity/verification_sessions", {"type": "document", "expand": ["status"]}), 400,
          param="expand[0]")
    assert client.get("/v1/identity/verification_sessions").body["data"] == []


def test_a_valid_expand_still_expands(client: InProcessClient, customer: str) -> None:
    inv = _open_invoice(client, customer)
    body = client.get(f"/v1/invoices/{inv['id']}", {"expand": ["customer"]}).body
    assert isinstance(body["customer"], dict) and body["customer"]["id"] == customer


@pytest.mark.parametrize("unit", [{"unit_amount_decimal": "58348"},
                                  {"price_data": {"currency": "usd", "product": "prod_x", "unit_amount": 500}}])
def test_amount_and_a_unit_amount_together_are_refused(client: InProcessClient, customer: str, draft: dict,
                                                       unit: dict) -> None:
    """Stripe: "You may only specify one of these parameters: amount, unit_amount". Found by a multi-fault run: the
    mock kept both, so an item's amount was not its quantity x unit amount (a false invariant finding)."""
    base = {"customer": customer, "currency": "usd", "amount": -99_999_999, "quantity": 2}
    fails(client.post("/v1/invoiceitems", {**base, **unit}), 400, code="parameters_exclusive")
    item = ok(client.post("/v1/invoiceitems", {"customer": customer, "currency": "usd", "quantity": 2,
                                               "price_data": {"currency": "usd", "product": "prod_x",
                                                              "unit_amount": 700}}), "CreateInvoiceItem")
    fails(client.post(f"/v1/invoiceitems/{item['id']}", {"amount": 5, **unit}), 400, code="parameters_exclusive")
    assert ok(client.get(f"/v1/invoiceitems/{item['id']}"), "RetrieveInvoiceItem")["amount"] == 1400
    lines = client.post(f"/v1/invoices/{draft['id']}/add_lines", {"lines": [{"amount": 5, **unit}]})
    assert lines.status == 400, lines.body  # (lines have no top-level unit_amount_decimal: an unknown param)
    assert ok(client.get(f"/v1/invoices/{draft['id']}"), "RetrieveInvoice")["lines"]["data"] == []
