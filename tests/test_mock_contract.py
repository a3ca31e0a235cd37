"""Every body the mock produces satisfies the contract: 2xx against the operation's schema, 4xx against the error.

A scripted tour builds a small world through all 61 operations (the 50 plus the supporting endpoints), then runs
variants of each: every expandable field expanded, every list with each of its filters (each enum value, ranges,
references), paging in both directions, and error cases. Every answer goes through one checkpoint
(`Tour.request`), so nothing the mock says escapes validation. In-process: the tour takes about a second.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from contracts.loader import Operation, fill_path, load_contract
from mockserver.app import MockApp
from mockserver.handlers import handlers_for
from mockserver.testing import Answer, InProcessClient

CONTRACT = load_contract()
PAGING = {"expand", "limit", "starting_after", "ending_before", "page"}


class Tour:
    """An in-process client whose every answer is checked against the contract and counted per operation."""

    def __init__(self, app: MockApp, key: str = "sk_test_contract_tour_0001"):
        self.client = InProcessClient(app, api_key=key)
        self.ok_by_op: Counter[str] = Counter()
        self.errors_by_op: Counter[str] = Counter()
        self.problems: list[str] = []

    def request(self, method: str, path: str, params: dict | None = None, *, expect: int | None = 200,
                **kw: Any) -> Answer:
        answer = self.client.request(method, path, params, **kw)
        matched = CONTRACT.match(method, path)
        where = f"{method} {path} {params or ''}"
        if matched is None:
            self.problems.append(f"{where}: no operation serves this path")
            return answer
        op = matched[0]
        if answer.status >= 500:
            self.problems.append(f"{where}: {answer.status} {answer.body}")
        elif 200 <= answer.status < 300:
            self._check(op, answer, where)
            self.ok_by_op[op.operation_id] += 1
        else:
            self._check(op, answer, where)
            self.errors_by_op[op.operation_id] += 1
        if expect is not None and answer.status != expect:
            self.problems.append(f"{where}: expected {expect}, got {answer.status} {answer.body}")
        return answer

    def _check(self, op: Operation, answer: Answer, where: str) -> None:
        errors = op.response_errors(answer.status, answer.body)
        if errors:
            self.problems.append(f"{where}: {answer.status} breaks the contract of {op.operation_id}: {errors}")
        if answer.headers.get("content-type") != "application/json" or "request-id" not in answer.headers:
            self.problems.append(f"{where}: headers {answer.headers}")

    def get(self, path: str, params: dict | None = None, **kw: Any) -> dict:
        return self.request("GET", path, params, **kw).body

    def post(self, path: str, params: dict | None = None, **kw: Any) -> dict:
        return self.request("POST", path, params, **kw).body

    def delete(self, path: str, params: dict | None = None, **kw: Any) -> dict:
        return self.request("DELETE", path, params, **kw).body


def build_world(t: Tour) -> dict[str, Any]:
    """Objects of every kind, in varied states, made through the API (so their creation is validated too)."""
    w: dict[str, Any] = {}
    w["customer"] = t.post("/v1/customers", {"email": "tour@example.com", "name": "Tour", "metadata": {"a": "1"}})
    cus = w["customer"]["id"]
    w["product"] = t.post("/v1/products", {"name": "Widget", "description": "A widget"})
    w["pm"] = t.post("/v1/payment_methods", {"type": "card", "card": {"token": "pm_card_mastercard"}, "customer": cus})
    w["intent"] = t.post("/v1/payment_intents", {"amount": 300, "currency": "usd", "customer": cus,
                                                "payment_method": "pm_card_visa", "confirm": True})
    t.post("/v1/payment_intents", {"amount": 300, "currency": "usd"})
    t.post("/v1/payment_intents", {"amount": 300, "currency": "usd", "payment_method": "pm_card_chargeDeclined",
                                   "confirm": True}, expect=402)
    template = t.post("/v1/test_helpers/invoice_rendering_templates", {"nickname": "tour", "metadata": {"k": "v"}})
    w["template"] = template
    archived = t.post("/v1/test_helpers/invoice_rendering_templates", {})
    t.post(f"/v1/invoice_rendering_templates/{archived['id']}/archive")
    t.post(f"/v1/invoice_rendering_templates/{archived['id']}/archive", expect=400)
    t.post(f"/v1/invoice_rendering_templates/{archived['id']}/unarchive")
    t.post(f"/v1/invoice_rendering_templates/{archived['id']}/archive")

    # invoices in every state
    pending = t.post("/v1/invoiceitems", {"customer": cus, "amount": 250, "currency": "usd", "description": "p",
                                          "period": {"start": 1_700_000_000, "end": 1_700_086_400},
                                          "metadata": {"x": "y"}})
    w["pending_item"] = pending
    t.post("/v1/invoiceitems", {"customer": cus, "price_data": {"currency": "usd", "product": w["product"]["id"],
                                                                "unit_amount": 120}, "quantity": 3})
    draft = t.post("/v1/invoices", {"customer": cus, "description": "draft", "metadata": {"stage": "draft"},
                                    "collection_method": "send_invoice", "days_until_due": 10,
                                    "rendering": {"template": template["id"]},
                                    "shipping_cost": {"shipping_rate_data": {"display_name": "Ground",
                                                                             "fixed_amount": {"amount": 500,
                                                                                              "currency": "usd"}}},
                                    "custom_fields": [{"name": "PO", "value": "42"}], "footer": "thanks"})
    inv = draft["id"]
    draft = t.post(f"/v1/invoices/{inv}/add_lines", {"lines": [
        {"amount": 1000, "description": "one", "metadata": {"l": "1"}},
        {"price_data": {"currency": "usd", "product": w["product"]["id"], "unit_amount_decimal": "12.5"},
         "quantity": 4, "period": {"start": 1_700_000_000, "end": 1_700_000_100}},
        {"invoice_item": pending["id"]},
    ], "invoice_metadata": {"lines": "3"}})
    line_ids = [line["id"] for line in draft["lines"]["data"]]
    w["line"] = t.post(f"/v1/invoices/{inv}/lines/{line_ids[0]}", {"description": "first", "metadata": {"m": "1"}})
    t.post(f"/v1/invoices/{inv}/update_lines", {"lines": [{"id": line_ids[1], "quantity": 5}]})
    t.post(f"/v1/invoices/{inv}/remove_lines", {"lines": [{"id": line_ids[2], "behavior": "unassign"}]})
    t.post(f"/v1/invoices/{inv}", {"description": "still a draft", "auto_advance": False})
    t.post("/v1/invoiceitems", {"invoice": inv, "amount": 75})
    w["draft"] = t.get(f"/v1/invoices/{inv}")

    def finalized(amounts: tuple[int, ...] = (900,), **params: Any) -> str:
        made = t.post("/v1/invoices", {"customer": cus, **params})
        if amounts:
            t.post(f"/v1/invoices/{made['id']}/add_lines", {"lines": [{"amount": a} for a in amounts]})
        t.post(f"/v1/invoices/{made['id']}/finalize", {"auto_advance": False})
        return str(made["id"])

    w["open"] = finalized((900, 100), metadata={"stage": "open"}, collection_method="send_invoice")
    t.post(f"/v1/invoices/{w['open']}/send")
    t.post(f"/v1/invoices/{w['open']}", {"metadata": {"note": "sent"}})
    w["paid"] = finalized()
    t.post(f"/v1/invoices/{w['paid']}/pay", {"payment_method": "pm_card_chargeDeclined"}, expect=402)
    t.post(f"/v1/invoices/{w['paid']}/pay", {"payment_method": w["pm"]["id"]})
    w["void"] = finalized()
    t.post(f"/v1/invoices/{w['void']}/void")
    w["uncollectible"] = finalized()
    t.post(f"/v1/invoices/{w['uncollectible']}/mark_uncollectible")
    w["oob"] = finalized()
    t.post(f"/v1/invoices/{w['oob']}/pay", {"paid_out_of_band": True})
    w["partial"] = finalized()
    t.post(f"/v1/invoices/{w['partial']}/attach_payment", {"payment_intent": w["intent"]["id"]})
    w["zero"] = finalized(())
    revised = t.post("/v1/invoices", {"from_invoice": {"action": "revision", "invoice": w["void"]}})
    w["revision"] = revised["id"]
    doomed = t.post("/v1/invoices", {"customer": cus})
    t.delete(f"/v1/invoices/{doomed['id']}")
    gone_item = t.post("/v1/invoiceitems", {"customer": cus, "amount": 1})
    t.post(f"/v1/invoiceitems/{gone_item['id']}", {"amount": 2, "description": "", "metadata": {"k": "v"}})
    t.delete(f"/v1/invoiceitems/{gone_item['id']}")
    t.post("/v1/invoices/create_preview", {"customer": cus})
    t.post("/v1/invoices/create_preview", {"customer": cus, "invoice_items": [
        {"amount": 10, "currency": "usd"}, {"invoiceitem": pending["id"]},
        {"price_data": {"currency": "usd", "product": w["product"]["id"], "unit_amount": 7}, "quantity": 2}]})
    w["payment"] = t.get("/v1/invoice_payments", {"invoice": w["paid"]})["data"][0]

    # financial connections
    account = t.post("/v1/test_helpers/financial_connections/accounts",
                     {"customer": cus, "permissions": ["balances", "transactions", "ownership", "payment_method"]})
    w["fc_account"] = account
    t.post("/v1/test_helpers/financial_connections/accounts", {"category": "credit", "transactions": 2})
    t.post(f"/v1/financial_connections/accounts/{account['id']}/refresh",
           {"features": ["balance", "ownership", "transactions"]})
    t.post(f"/v1/financial_connections/accounts/{account['id']}/subscribe", {"features": ["transactions"]})
    t.post(f"/v1/financial_connections/accounts/{account['id']}/unsubscribe", {"features": ["transactions"]})
    t.post(f"/v1/financial_connections/accounts/{account['id']}/subscribe", {"features": ["transactions"]})
    w["fc_session"] = t.post("/v1/financial_connections/sessions", {
        "account_holder": {"type": "customer", "customer": cus}, "permissions": ["balances", "transactions"],
        "prefetch": ["balances"], "filters": {"countries": ["US"]}, "return_url": "https://example.com/r"})
    t.post("/v1/financial_connections/sessions", {"account_holder": {"type": "account", "account": "acct_1"},
                                                  "permissions": ["ownership"], "limits": {"accounts": 5}})
    w["fc_txn"] = t.get("/v1/financial_connections/transactions", {"account": account["id"]})["data"][0]

    # forwarding
    w["fwd"] = t.post("/v1/forwarding/requests", {
        "payment_method": w["pm"]["id"], "url": "https://processor.example/pay",
        "replacements": ["card_number", "card_expiry", "card_cvc", "cardholder_name"], "metadata": {"o": "1"},
        "request": {"body": '{"n": "{{card_number}}"}', "headers": [{"name": "X-A", "value": "b"}]}})
    t.post("/v1/forwarding/requests", {"payment_method": "pm_card_visa", "url": "https://processor.example/p",
                                       "replacements": ["card_number"]})

    # identity: requires_input, verified (with a report), canceled, redacted
    w["vs"] = t.post("/v1/identity/verification_sessions", {
        "type": "document", "client_reference_id": "ref-1", "metadata": {"u": "1"}, "related_customer": cus,
        "options": {"document": {"allowed_types": ["passport", "driving_license"],
                                 "require_matching_selfie": True}},
        "provided_details": {"email": "v@example.com"}, "return_url": "https://example.com/done"})
    t.post(f"/v1/identity/verification_sessions/{w['vs']['id']}", {"metadata": {"u": "2"}, "type": "document"})
    verified = t.post("/v1/identity/verification_sessions", {"type": "id_number"})
    t.post(f"/v1/test_helpers/identity/verification_sessions/{verified['id']}/verify")
    w["verified"] = verified["id"]
    w["report"] = t.get("/v1/identity/verification_reports", {"verification_session": verified["id"]})["data"][0]
    selfie = t.post("/v1/identity/verification_sessions", {"type": "document", "options": {
        "document": {"require_matching_selfie": True, "require_id_number": True}}})
    t.post(f"/v1/test_helpers/identity/verification_sessions/{selfie['id']}/verify")
    t.post(f"/v1/identity/verification_sessions/{selfie['id']}/redact")
    canceled = t.post("/v1/identity/verification_sessions", {})
    t.post(f"/v1/identity/verification_sessions/{canceled['id']}/cancel")
    t.post(f"/v1/identity/verification_sessions/{canceled['id']}/cancel", expect=400)
    redacted = t.post("/v1/identity/verification_sessions", {"type": "document"})
    t.post(f"/v1/identity/verification_sessions/{redacted['id']}/redact")

    # issuing
    w["cardholder"] = t.post("/v1/issuing/cardholders", {"name": "Jenny Rosen", "email": "jenny@example.com",
                                                         "billing": {"address": {
                                                             "line1": "1 Market Street", "city": "San Francisco",
                                                             "postal_code": "94105", "country": "US"}}})
    w["card"] = t.post("/v1/issuing/cards", {"cardholder": w["cardholder"]["id"], "currency": "usd",
                                             "type": "virtual", "status": "active"})
    w["auth"] = t.post("/v1/test_helpers/issuing/authorizations", {"amount": 1234, "card": w["card"]["id"],
                                                                   "merchant_data": {"name": "Shop"}})
    t.post("/v1/test_helpers/issuing/authorizations", {"amount": 99, "status": "closed"})
    t.post(f"/v1/issuing/authorizations/{w['auth']['id']}", {"metadata": {"r": "1"}})
    return w


def path_ids(w: dict[str, Any]) -> dict[str, dict[str, str]]:
    """operationId -> path parameter values naming an existing object (one good ID per retrieve)."""
    inv = w["draft"]["id"]
    return {
        "RetrieveCustomer": {"customer": w["customer"]["id"]},
        "RetrieveProduct": {"id": w["product"]["id"]},
        "RetrieveInvoice": {"invoice": inv},
        "ListInvoiceLines": {"invoice": inv},
        "RetrieveInvoiceItem": {"invoiceitem": w["pending_item"]["id"]},
        "RetrieveInvoicePayment": {"invoice_payment": w["payment"]["id"]},
        "RetrieveInvoiceRenderingTemplate": {"template": w["template"]["id"]},
        "RetrieveFinancialConnectionsSession": {"session": w["fc_session"]["id"]},
        "RetrieveFinancialConnectionsTransaction": {"transaction": w["fc_txn"]["id"]},
        "RetrieveForwardingRequest": {"id": w["fwd"]["id"]},
        "RetrieveIdentityVerificationSession": {"session": w["verified"]},
        "RetrieveIdentityVerificationReport": {"report": w["report"]["id"]},
        "RetrieveIssuingAuthorization": {"authorization": w["auth"]["id"]},
        "RetrieveIssuingCard": {"card": w["card"]["id"]},
        "RetrieveIssuingCardholder": {"cardholder": w["cardholder"]["id"]},
    }


def expand_paths(resource: str | None) -> list[str]:
    """Every expandable ID and every includable field of the resource (so expanded answers are validated too)."""
    if not resource:
        return []
    return sorted({*CONTRACT.expandable_fields(resource), *CONTRACT.includable_fields(resource)})


def filter_values(op: Operation, w: dict[str, Any]) -> list[dict]:
    """One params dict per filter value worth trying for a list operation."""
    refs = {"customer": w["customer"]["id"], "invoice": w["paid"], "account": w["fc_account"]["id"],
            "verification_session": w["verified"], "related_customer": w["customer"]["id"],
            "client_reference_id": "ref-1", "email": "tour@example.com", "cardholder": w["cardholder"]["id"]}
    out: list[dict] = []
    for param in op.query_params:
        if param.name in PAGING or op.operation_id == "SearchInvoices":
            continue
        schema = param.schema
        kinds = {b.get("type") for b in schema.get("anyOf", [])}
        if schema.get("enum"):
            out += [{param.name: v} for v in schema["enum"]]
        elif kinds == {"integer", "object"} or param.name in ("created", "transacted_at"):
            now = int(time.time())
            out += [{param.name: {"gte": 0}}, {param.name: {"lt": now + 3600, "gt": 1}}]
            if "integer" in kinds:
                out.append({param.name: 1})
        elif schema.get("type") == "boolean":
            out += [{param.name: True}, {param.name: False}]
        elif param.name == "payment":
            out.append({param.name: {"type": "payment_intent", "payment_intent": w["intent"]["id"]}})
        elif param.name == "transaction_refresh":
            out.append({param.name: {"after": "fctxnref_0_x"}})
        elif param.name == "version":
            out.append({param.name: 1})
        elif schema.get("type") == "string":
            out += [{param.name: refs.get(param.name, "nothing_matches")}]
    return out


def run_variants(t: Tour, w: dict[str, Any]) -> None:
    ids = path_ids(w)
    base_for = {"ListFinancialConnectionsTransactions": {"account": w["fc_account"]["id"]},
                "SearchInvoices": {"query": 'status:"open" OR status:"paid"'}}
    for op in CONTRACT.operations.values():
        if op.method != "GET":
            continue
        values = ids.get(op.operation_id, {})
        path = fill_path(op.path, values) if op.path_params else op.path
        base = base_for.get(op.operation_id, {})
        if op.path_params and not op.is_list:  # retrieve: plain, every field expanded, missing
            t.get(path)
            fields = expand_paths(op.resource)
            if fields:
                t.get(path, {"expand": fields})
            t.get(fill_path(op.path, dict.fromkeys(values, "missing_0000")), expect=404)
            t.get(path, {"expand": ["not_a_field"]}, expect=400)
            continue
        if not op.is_list:
            continue
        t.get(path, base)
        fields = expand_paths(op.resource)
        if fields:
            t.get(path, {**base, "expand": [f"data.{f}" for f in fields]})
        for extra in filter_values(op, w):
            t.get(path, {**base, **extra})
        t.get(path, {**base, "limit": 0}, expect=400)
        t.get(path, {**base, "unknown_param": "x"}, expect=400)
        if op.operation_id == "SearchInvoices":
            first = t.get(path, {**base, "limit": 1})
            if first["has_more"]:
                t.get(path, {**base, "limit": 1, "page": first["next_page"]})
            continue
        # walk forward one item per page, then back from the last
        page = t.get(path, {**base, "limit": 1})
        seen = [obj["id"] for obj in page["data"]]
        while page["has_more"] and len(seen) < 30:
            page = t.get(path, {**base, "limit": 1, "starting_after": seen[-1]})
            seen += [obj["id"] for obj in page["data"]]
        if seen:
            t.get(path, {**base, "ending_before": seen[-1], "limit": 100})
        t.get(path, {**base, "starting_after": "missing_0000"}, expect=400)


def retrieve_everything(t: Tour, w: dict[str, Any]) -> None:
    """Every listed object retrieved by ID, plain and fully expanded: each state of each object gets validated."""
    retrieves = {op.resource: op for op in CONTRACT.operations.values()
                 if op.method == "GET" and op.path_params and not op.is_list and op.resource}
    base_for = {"ListFinancialConnectionsTransactions": {"account": w["fc_account"]["id"]}}
    for op in CONTRACT.operations.values():
        retrieve = retrieves.get(op.resource)
        if not op.is_list or op.path_params or retrieve is None or op.response_kind != "list":
            continue
        listed = t.get(op.path, {**base_for.get(op.operation_id, {}), "limit": 100})
        fields = expand_paths(op.resource)
        for obj in listed["data"]:
            path = fill_path(retrieve.path, {retrieve.path_params[0]: obj["id"]})
            if t.get(path) != obj:
                t.problems.append(f"GET {path}: the object differs from its entry in {op.path}")
            if fields:
                t.get(path, {"expand": fields})


def run_search_and_errors(t: Tour, w: dict[str, Any]) -> None:
    cus = w["customer"]["id"]
    # the supporting customer list answers a named list schema (customer_list), so it is not `is_list`
    t.get("/v1/customers", {"limit": 1})
    t.get("/v1/customers", {"email": "tour@example.com"})
    # the supporting Issuing lists likewise (named list schemas), and the card and cardholder updates
    t.get("/v1/issuing/cardholders", {"status": "active", "limit": 5})
    t.get("/v1/issuing/cards", {"cardholder": w["cardholder"]["id"], "type": "virtual"})
    t.post(f"/v1/issuing/cardholders/{w['cardholder']['id']}", {"metadata": {"k": "v"}, "phone_number": "+15555550100"})
    t.post(f"/v1/issuing/cards/{w['card']['id']}", {"status": "canceled", "cancellation_reason": "stolen"})
    t.post(f"/v1/issuing/cards/{w['card']['id']}", {"status": "active"}, expect=400)
    t.post("/v1/test_helpers/issuing/authorizations", {"amount": 1, "card": "ic_missing"}, expect=400)
    for query in (f'customer:"{cus}"', 'status:"draft" AND metadata["stage"]:"draft"', "total>=900", "-total:0",
                  'number~"MOCK"', 'currency:"usd" AND -status:"void"'):
        t.get("/v1/invoices/search", {"query": query, "expand": ["data.customer"]})
    t.get("/v1/invoices/search", {"query": "status:"}, expect=400)
    # error answers of the action operations validate against the error schema too
    inv = w["draft"]["id"]
    t.post(f"/v1/invoices/{w['paid']}/void", expect=400)
    t.post(f"/v1/invoices/{w['void']}/finalize", expect=400)
    t.post(f"/v1/invoices/{w['open']}/add_lines", {"lines": [{"amount": 1}]}, expect=400)
    t.post(f"/v1/invoices/{inv}/add_lines", {}, expect=400)
    t.post(f"/v1/invoices/{inv}/add_lines", {"lines": [{"amount": "x"}]}, expect=400)
    t.post(f"/v1/invoices/{inv}/lines/il_missing", {"amount": 1}, expect=404)
    t.post("/v1/invoices", {"customer": "cus_missing"}, expect=400)
    t.post("/v1/invoices", {"customer": cus, "metadata": {"k" * 41: "v"}}, expect=400)
    t.delete("/v1/invoices/in_missing", expect=404)
    t.delete(f"/v1/invoiceitems/{w['pending_item']['id']}", {"unknown": "1"}, expect=400)
    t.post(f"/v1/financial_connections/accounts/{w['fc_account']['id']}/refresh", {"features": ["nope"]},
           expect=400)
    t.post(f"/v1/identity/verification_sessions/{w['verified']}/cancel", expect=400)
    t.post(f"/v1/issuing/authorizations/{w['auth']['id']}", {"amount": 1}, expect=400)
    t.get("/v1/invoices", api_key=None, expect=401)
    t.post("/v1/invoices", {"customer": cus}, api_key="sk_live_nope", expect=401)
    headers = {"idempotency-key": "tour-1"}
    t.post("/v1/customers", {"name": "once"}, headers=headers)
    replay = t.request("POST", "/v1/customers", {"name": "once"}, headers=headers)
    assert replay.headers.get("idempotent-replayed") == "true"
    t.post("/v1/customers", {"name": "twice"}, headers=headers, expect=400)


@pytest.fixture(scope="module")
def tour() -> Tour:
    t = Tour(MockApp())
    world = build_world(t)
    run_variants(t, world)
    retrieve_everything(t, world)
    run_search_and_errors(t, world)
    return t


def test_every_answer_satisfies_the_contract(tour: Tour) -> None:
    assert tour.problems == [], "\n".join(tour.problems[:30])


def test_every_operation_validated(tour: Tour) -> None:
    missing = sorted(set(CONTRACT.operations) - set(tour.ok_by_op))
    assert len(CONTRACT.operations) == 69
    assert not missing, f"operations never answered 2xx in the tour: {missing}"
    assert sum(tour.ok_by_op.values()) > 300
    assert sum(tour.errors_by_op.values()) > 50


def test_every_operation_has_a_handler() -> None:
    handlers = handlers_for(CONTRACT)
    assert set(handlers) == set(CONTRACT.operations), set(handlers) ^ set(CONTRACT.operations)
    assert all(callable(fn) for fn in handlers.values())
