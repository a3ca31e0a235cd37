"""Objects as Stripe sends them: includable fields only when expanded, complete nested objects, whole embedded
objects. Each failing input of issue 11 (items 5-7) is a test here that expects Stripe's answer; the whole kinds
are covered by the contract (every always-sent field required at every depth) and the suites' expand properties.
"""

from __future__ import annotations

import copy

import pytest

from contracts import generate
from contracts.loader import load_contract
from mockserver.app import MockApp
from mockserver.includable import Hider, kept_paths
from mockserver.objects import complete, complete_field
from mockserver.testing import InProcessClient, ok

SESSIONS = "/v1/identity/verification_sessions"


@pytest.fixture
def client() -> InProcessClient:
    return InProcessClient(MockApp())


def _customer(client: InProcessClient) -> str:
    return ok(client.post("/v1/customers", {"email": "objects@example.com"}), "CreateCustomer")["id"]


def _open_invoice(client: InProcessClient, **finalize: object) -> dict:
    inv = ok(client.post("/v1/invoices", {"customer": _customer(client)}), "CreateInvoice")
    ok(client.post(f"/v1/invoices/{inv['id']}/add_lines", {"lines": [{"amount": 1500}]}), "AddInvoiceLines")
    return ok(client.post(f"/v1/invoices/{inv['id']}/finalize", finalize), "FinalizeInvoice")


# -- item 5: fields Stripe returns only when expanded ---------------------------------------------------------


def test_expand_confirmation_secret_on_finalize_and_retrieve(client: InProcessClient) -> None:
    """`POST /v1/invoices/I/finalize -d expand[]=confirmation_secret` was a 400; Stripe's invoicing guide uses
    exactly that call to get the PaymentIntent's client secret."""
    opened = _open_invoice(client, expand=["confirmation_secret"])
    secret = opened["confirmation_secret"]
    assert secret["type"] == "payment_intent" and secret["client_secret"].startswith("pi_")
    plain = ok(client.get(f"/v1/invoices/{opened['id']}"), "RetrieveInvoice")
    assert "confirmation_secret" not in plain
    again = ok(client.get(f"/v1/invoices/{opened['id']}", {"expand": ["confirmation_secret"]}), "RetrieveInvoice")
    assert again["confirmation_secret"] == secret


def test_confirmation_secret_of_a_draft_is_null(client: InProcessClient) -> None:
    inv = ok(client.post("/v1/invoices", {"customer": _customer(client)}), "CreateInvoice")
    got = ok(client.get(f"/v1/invoices/{inv['id']}", {"expand": ["confirmation_secret"]}), "RetrieveInvoice")
    assert got["confirmation_secret"] is None


def test_expand_payments_lists_the_payment_of_a_paid_invoice(client: InProcessClient) -> None:
    """`expand[]=payments` was a 400 and `payments` null even on a paid invoice; Stripe includes the invoice's
    payments (a list of invoice_payment objects) when asked."""
    opened = _open_invoice(client)
    paid = ok(client.post(f"/v1/invoices/{opened['id']}/pay", {"payment_method": "pm_card_visa",
                                                                "expand": ["payments"]}), "PayInvoice")
    payments = paid["payments"]
    assert payments["object"] == "list" and payments["has_more"] is False
    [payment] = payments["data"]
    assert payment["object"] == "invoice_payment" and payment["status"] == "paid"
    assert payment["invoice"] == opened["id"] and payment["amount_paid"] == 1500
    listed = ok(client.get("/v1/invoice_payments", {"invoice": opened["id"]}), "ListInvoicePayments")
    assert [p["id"] for p in listed["data"]] == [payment["id"]]
    assert "payments" not in ok(client.get(f"/v1/invoices/{opened['id']}"), "RetrieveInvoice")
    in_list = ok(client.get("/v1/invoices", {"expand": ["data.payments"]}), "ListInvoices")
    assert in_list["data"][0]["payments"]["data"][0]["id"] == payment["id"]


def test_shipping_cost_taxes_only_when_expanded(client: InProcessClient) -> None:
    inv = ok(client.post("/v1/invoices", {"customer": _customer(client), "shipping_cost": {"shipping_rate_data": {
        "display_name": "Ground", "fixed_amount": {"amount": 500, "currency": "usd"}}}}), "CreateInvoice")
    assert inv["shipping_cost"]["amount_total"] == 500 and "taxes" not in inv["shipping_cost"]
    got = ok(client.get(f"/v1/invoices/{inv['id']}", {"expand": ["shipping_cost.taxes"]}), "RetrieveInvoice")
    assert got["shipping_cost"]["taxes"] == []


def test_verified_outputs_only_when_expanded(client: InProcessClient) -> None:
    """`GET /v1/identity/verification_sessions/V?expand[]=verified_outputs` was a 400 while the mock sent
    `verified_outputs` unasked; Stripe sends it only when expanded (and its dob/id_number only when those are)."""
    session = ok(client.post(SESSIONS, {"type": "document"}), "CreateIdentityVerificationSession")
    ok(client.post(f"/v1/test_helpers/identity/verification_sessions/{session['id']}/verify"),
       "TestHelperVerifyIdentityVerificationSession")
    plain = ok(client.get(f"{SESSIONS}/{session['id']}"), "RetrieveIdentityVerificationSession")
    assert "verified_outputs" not in plain and "provided_details" not in plain
    got = ok(client.get(f"{SESSIONS}/{session['id']}", {"expand": ["verified_outputs"]}),
             "RetrieveIdentityVerificationSession")
    outputs = got["verified_outputs"]
    assert outputs["first_name"] and outputs["address"]["country"] == "US"
    assert "dob" not in outputs and "id_number" not in outputs
    deeper = ok(client.get(f"{SESSIONS}/{session['id']}", {"expand": ["verified_outputs.dob"]}),
                "RetrieveIdentityVerificationSession")
    assert deeper["verified_outputs"]["dob"]["year"] > 1900


def test_search_total_count_only_when_expanded(client: InProcessClient) -> None:
    for _ in range(3):
        ok(client.post("/v1/invoices", {"customer": _customer(client)}), "CreateInvoice")
    query = {"query": 'status:"draft"', "limit": 1}
    assert "total_count" not in ok(client.get("/v1/invoices/search", query), "SearchInvoices")
    counted = ok(client.get("/v1/invoices/search", {**query, "expand": ["total_count"]}), "SearchInvoices")
    assert counted["total_count"] == 3 and len(counted["data"]) == 1


def test_an_unknown_nested_path_under_an_includable_field_is_refused(client: InProcessClient) -> None:
    session = ok(client.post(SESSIONS, {}), "CreateIdentityVerificationSession")
    answer = client.get(f"{SESSIONS}/{session['id']}", {"expand": ["verified_outputs.not_a_field"]})
    assert answer.status == 400 and answer.error["param"] == "expand[0]"


# -- item 6: nested objects come back complete ----------------------------------------------------------------


def test_partial_shipping_details_come_back_complete(client: InProcessClient) -> None:
    """An invoice created with a partial `shipping_details[address]` came back without phone, carrier,
    tracking_number, address line2 and state; Stripe fills them with null (SDK code reads them)."""
    inv = ok(client.post("/v1/invoices", {"customer": _customer(client), "shipping_details": {
        "name": "Jenny Rosen", "address": {"line1": "1 Main St", "country": "US"}}}), "CreateInvoice")
    assert inv["shipping_details"] == {
        "name": "Jenny Rosen", "phone": None, "carrier": None, "tracking_number": None,
        "address": {"line1": "1 Main St", "country": "US", "line2": None, "city": None, "postal_code": None,
                    "state": None}}
    updated = ok(client.post(f"/v1/invoices/{inv['id']}", {"shipping_details": {
        "name": "Sam", "address": {"city": "Austin"}, "phone": "+15125550100"}}), "UpdateInvoice")
    assert updated["shipping_details"]["address"] == {"city": "Austin", "country": None, "line1": None,
                                                      "line2": None, "postal_code": None, "state": None}
    assert updated["shipping_details"]["carrier"] is None and updated["shipping_details"]["phone"] == "+15125550100"


def test_payment_settings_come_back_complete(client: InProcessClient) -> None:
    """`payment_settings` came back without `default_mandate` and `payment_method_options`."""
    inv = ok(client.post("/v1/invoices", {"customer": _customer(client),
                                          "payment_settings": {"payment_method_types": ["card"]}}), "CreateInvoice")
    assert inv["payment_settings"] == {"payment_method_types": ["card"], "default_mandate": None,
                                       "payment_method_options": None}
    with_options = ok(client.post(f"/v1/invoices/{inv['id']}", {"payment_settings": {
        "payment_method_options": {"card": {"request_three_d_secure": "any"}}}}), "UpdateInvoice")
    card = with_options["payment_settings"]["payment_method_options"]["card"]
    assert card["request_three_d_secure"] == "any" and "installments" in card
    assert with_options["payment_settings"]["payment_method_options"]["konbini"] is None


def test_document_options_come_back_complete(client: InProcessClient) -> None:
    session = ok(client.post(SESSIONS, {"options": {"document": {"require_matching_selfie": True}}}),
                 "CreateIdentityVerificationSession")
    assert session["options"]["document"] == {"require_matching_selfie": True, "allowed_types": None,
                                              "require_id_number": None, "require_live_capture": None}


# -- item 7: embedded objects are whole ------------------------------------------------------------------------


def test_issuing_authorization_embeds_the_whole_card(client: InProcessClient) -> None:
    """`issuing.authorization.card` was `{id, object}`; Stripe embeds the whole card, with its cardholder."""
    auth = ok(client.post("/v1/test_helpers/issuing/authorizations", {"amount": 700}),
              "TestHelperCreateIssuingAuthorization")
    card = auth["card"]
    assert card["object"] == "issuing.card" and card["id"].startswith("ic_")
    assert card["last4"] == "4242" and card["brand"] == "Visa" and card["status"] == "active"
    assert 1 <= card["exp_month"] <= 12 and card["exp_year"] >= 2026 and card["currency"] == "usd"
    holder = card["cardholder"]
    assert holder["object"] == "issuing.cardholder" and holder["id"] == auth["cardholder"]
    assert holder["name"] and holder["billing"]["address"]["country"] == "US"
    assert "number" not in card and "cvc" not in card  # includable on cards: only when expanded
    expanded = ok(client.get(f"/v1/issuing/authorizations/{auth['id']}", {"expand": ["cardholder"]}),
                  "RetrieveIssuingAuthorization")
    assert expanded["cardholder"] == holder


def test_authorizations_on_one_card_embed_the_same_card(client: InProcessClient) -> None:
    holder = ok(client.post("/v1/issuing/cardholders", {"name": "Jenny Rosen", "billing": {"address": {
        "line1": "1 Market Street", "city": "San Francisco", "postal_code": "94105", "country": "US"}}}),
        "CreateIssuingCardholder")
    card = ok(client.post("/v1/issuing/cards", {"cardholder": holder["id"], "currency": "usd", "type": "virtual",
                                                "status": "active"}), "CreateIssuingCard")
    first = ok(client.post("/v1/test_helpers/issuing/authorizations", {"amount": 100, "card": card["id"]}),
               "TestHelperCreateIssuingAuthorization")
    second = ok(client.post("/v1/test_helpers/issuing/authorizations", {"amount": 200, "card": card["id"]}),
                "TestHelperCreateIssuingAuthorization")
    assert first["card"] == second["card"] == card
    assert first["cardholder"] == second["cardholder"] == holder["id"]


def test_expanded_ownership_is_the_whole_ownership_object(client: InProcessClient) -> None:
    """An account's `ownership` is an ID that expands to the ownership record with its owners (not a stub)."""
    account = client.post("/v1/test_helpers/financial_connections/accounts",
                          {"permissions": ["ownership", "balances"]}).body
    assert account["ownership"].startswith("fcaowns_")
    refreshed = ok(client.post(f"/v1/financial_connections/accounts/{account['id']}/refresh",
                               {"features": ["ownership"], "expand": ["ownership"]}),
                   "RefreshFinancialConnectionsAccount")
    ownership = refreshed["ownership"]
    assert ownership["object"] == "financial_connections.account_ownership" and ownership["created"] > 0
    [owner] = ownership["owners"]["data"]
    assert owner["object"] == "financial_connections.account_owner" and owner["ownership"] == ownership["id"]
    assert owner["name"] and "raw_address" in owner and "refreshed_at" in owner


# -- the contract's side ----------------------------------------------------------------------------------------


def test_contract_marks_every_includable_field_and_requires_the_rest() -> None:
    contract = load_contract()
    for component, paths in generate.INCLUDABLE.items():
        if component == "search_result":
            assert contract["SearchInvoices"].responses["200"]["properties"]["total_count"]["x-stripe-includable"]
            continue
        assert sorted(contract.includable_fields(component)) == sorted(paths), component
        for path in paths:
            parent = _node(contract, component, path.split(".")[:-1])
            assert path.split(".")[-1] not in parent.get("required", []), f"{component}.{path} is required"


def test_every_field_sent_when_applicable_exists_and_is_not_required() -> None:
    contract = load_contract()
    for component, paths in generate.SENT_WHEN_APPLICABLE.items():
        for path in paths:
            *parents, name = path.split(".")
            parent = _node(contract, component, parents)
            assert name in parent["properties"], f"{component}.{path}: no such field (a stale row)"
            assert name not in parent.get("required", []), f"{component}.{path} is required"


def test_nullable_fields_are_required_at_every_depth() -> None:
    """Stripe sends every field, null when unset: a missing `status_transitions.paid_at` (nullable, nested) is a
    contract violation, not a detail."""
    contract = load_contract()
    transitions = _node(contract, "invoice", ["status_transitions"])
    assert "paid_at" in transitions["required"] and "voided_at" in transitions["required"]
    assert "shipping_cost" in contract.components["invoice"]["required"]
    card = contract.components["issuing.card"]
    assert {"last4", "exp_month", "exp_year", "brand", "cardholder", "status"} <= set(card["required"])


def _node(contract, component: str, parents: list[str]) -> dict:
    node = contract.components[component]
    for name in parents:
        node = contract.resolve(node["properties"][name])
        node = next((b for b in [node, *node.get("anyOf", [])] if b.get("properties")), node)
    return node


# -- the mock's helpers ----------------------------------------------------------------------------------------


def test_hide_never_changes_what_it_is_given() -> None:
    contract = load_contract()
    hider = Hider(contract)
    schema = contract["RetrieveIdentityVerificationSession"].responses["200"]
    stored = {"id": "vs_1", "object": "identity.verification_session", "provided_details": {"email": None},
              "verified_outputs": {"first_name": "J", "dob": {"day": 1, "month": 2, "year": 1990}}}
    before = copy.deepcopy(stored)
    assert hider.hide(stored, schema) == {"id": "vs_1", "object": "identity.verification_session"}
    shown = hider.hide(stored, schema, kept_paths(["verified_outputs"]))
    assert shown["verified_outputs"] == {"first_name": "J"} and "provided_details" not in shown
    assert stored == before
    unrelated = {"id": "fca_1", "object": "financial_connections.account"}
    account_schema = contract["RefreshFinancialConnectionsAccount"].responses["200"]
    assert hider.hide(unrelated, account_schema) is unrelated  # nothing includable below: returned as is


def test_complete_fills_missing_fields_at_every_depth() -> None:
    contract = load_contract()
    schema = contract.components["invoice"]["properties"]["shipping_details"]
    assert complete(schema, None) is None
    assert complete(schema, {"address": {"line1": "x"}})["address"]["state"] is None
    full = complete_field("invoice", "custom_fields", [{"name": "PO", "value": "1"}])
    assert full == [{"name": "PO", "value": "1"}]


# -- what the suites report ----------------------------------------------------------------------------------------


def test_an_embedded_stub_is_one_schema_finding_listing_what_is_missing() -> None:
    """A stub misses many required fields of one object: that is one defect, so one finding that names them all."""
    from requests.structures import CaseInsensitiveDict

    from harness import checks, findings, steps
    from harness.client import Exchange, Response

    findings.reset()
    steps.reset()
    try:
        app = MockApp()
        auth = InProcessClient(app).post("/v1/test_helpers/issuing/authorizations", {"amount": 100}).body
        auth["card"] = {"id": auth["card"]["id"], "object": "issuing.card"}
        op = load_contract()["RetrieveIssuingAuthorization"]
        path = f"/v1/issuing/authorizations/{auth['id']}"
        headers = {"Content-Type": "application/json", "Request-Id": "req_1"}
        exchange = Exchange("GET", f"http://127.0.0.1:1{path}", path, {}, {}, 200, dict(headers), auth)
        checks.conforms_to_contract(op, Response(200, CaseInsensitiveDict(headers), auth, [exchange]))
        (only,) = findings.collected()
        assert only.signature.startswith("issuing.card: required brand, cancellation_reason, cardholder")
        assert "last4" in only.signature and "more missing here" in only.detail
    finally:
        findings.reset()
        steps.reset()
