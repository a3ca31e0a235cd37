"""Stripe's own Python package can drive every one of the 50 operations against the mock.

The official client is an independent encoder and decoder of the wire format: if it can call each operation and
gets back the object class it expects, the mock speaks Stripe's dialect and not just the harness's. Objects the
50 operations cannot create (customers, linked accounts, templates, authorizations) come from the mock's supporting
endpoints through `client.raw_request`.

Everything runs in one test with subtests-style bookkeeping (one section per resource family, failures collected),
so the final "all 50 exercised" check holds under pytest-xdist too.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe
from stripe._object_classes import OBJECT_CLASSES

from contracts.loader import Contract, load_contract
from harness.target import Target, start_embedded_mock

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with start_embedded_mock(label="official") as started:
        yield started


@pytest.fixture(scope="module")
def client(target: Target) -> stripe.StripeClient:
    return stripe.StripeClient(target.api_key, base_addresses={"api": target.base_url},
                               http_client=stripe.RequestsClient(), max_network_retries=0)


def expected_object(contract: Contract, op_id: str) -> str:
    """The `object` value an operation's 200 carries: list, search_result, or the resource's own name."""
    op = contract[op_id]
    if op.response_kind in ("list", "search_result"):
        return op.response_kind
    schema = contract.resolve(op.responses["200"])
    return schema["properties"]["object"]["enum"][0]


class Tour:
    """Calls through the official client, checks what comes back, and remembers which operations were used."""

    def __init__(self, client: stripe.StripeClient, contract: Contract):
        self.client = client
        self.contract = contract
        self.exercised: set[str] = set()
        self.failures: list[str] = []

    def call(self, op_id: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One operation: the right stripe class and `object`, and a raw body that satisfies the contract."""
        obj = fn(*args, **kwargs)
        want = expected_object(self.contract, op_id)
        assert obj.object == want, f"{op_id}: object {obj.object!r}, expected {want!r}"
        module, name = OBJECT_CLASSES[want]
        cls = getattr(importlib.import_module(module), name)
        assert isinstance(obj, cls), f"{op_id}: the client built {type(obj).__name__}, expected {name}"
        if self.contract[op_id].response_kind == "deleted":
            assert obj.deleted is True, f"{op_id}: not deleted"
        assert obj.last_response is not None, f"{op_id}: the client kept no raw response"
        errors = self.contract[op_id].response_errors(200, obj.last_response.data)
        assert errors == [], f"{op_id}: response breaks the contract: {errors}"
        self.exercised.add(op_id)
        return obj

    def helper(self, path: str, **params: Any) -> Any:
        """A supporting endpoint (not one of the 50), through the client's raw request and deserializer."""
        return self.client.deserialize(self.client.raw_request("post", path, **params), api_mode="V1")

    def section(self, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # collected, so the other sections still run and the report lists them all
            self.failures.append(f"[{name}]\n{traceback.format_exc(limit=3)}")


def invoices_section(t: Tour) -> None:
    v1 = t.client.v1
    customer = t.helper("/v1/customers", email="official@example.com", name="Official Client")
    inv = t.call("CreateInvoice", v1.invoices.create, params={"customer": customer.id, "metadata": {"k": "v"},
                                                              "collection_method": "send_invoice"})
    assert inv.status == "draft" and inv.customer == customer.id
    assert t.call("RetrieveInvoice", v1.invoices.retrieve, inv.id).id == inv.id
    updated = t.call("UpdateInvoice", v1.invoices.update, inv.id, params={"description": "by stripe-python"})
    assert updated.description == "by stripe-python"
    listed = t.call("ListInvoices", v1.invoices.list, params={"customer": customer.id, "limit": 5})
    assert [i.id for i in listed.data] == [inv.id]
    inv = t.call("AddInvoiceLines", v1.invoices.add_lines, inv.id,
                 params={"lines": [{"amount": 1500, "description": "a"}, {"amount": 500, "description": "b"}]})
    assert inv.subtotal == 2000
    lines = t.call("ListInvoiceLines", v1.invoices.line_items.list, inv.id, params={"limit": 10})
    first, second = lines.data
    line = t.call("UpdateInvoiceLine", v1.invoices.line_items.update, inv.id, first.id,
                  params={"description": "renamed"})
    assert line.description == "renamed"
    inv = t.call("UpdateInvoiceLines", v1.invoices.update_lines, inv.id,
                 params={"lines": [{"id": first.id, "amount": 2500}]})
    assert inv.subtotal == 3000
    inv = t.call("RemoveInvoiceLines", v1.invoices.remove_lines, inv.id,
                 params={"lines": [{"id": second.id, "behavior": "delete"}]})
    assert inv.subtotal == 2500
    inv = t.call("FinalizeInvoice", v1.invoices.finalize_invoice, inv.id)
    assert inv.status == "open" and inv.number
    assert t.call("SendInvoice", v1.invoices.send_invoice, inv.id).status == "open"
    paid = t.call("PayInvoice", v1.invoices.pay, inv.id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "paid" and paid.amount_paid == 2500 and paid.amount_remaining == 0
    payments = t.call("ListInvoicePayments", v1.invoice_payments.list, params={"invoice": inv.id})
    assert len(payments.data) == 1 and payments.data[0].status == "paid"
    payment = t.call("RetrieveInvoicePayment", v1.invoice_payments.retrieve, payments.data[0].id)
    assert payment.invoice == inv.id and payment.amount_paid == 2500

    def finalized(amount: int) -> Any:
        draft = v1.invoices.create(params={"customer": customer.id})
        v1.invoices.add_lines(draft.id, params={"lines": [{"amount": amount}]})
        return v1.invoices.finalize_invoice(draft.id)

    assert t.call("VoidInvoice", v1.invoices.void_invoice, finalized(700).id).status == "void"
    assert t.call("MarkInvoiceUncollectible", v1.invoices.mark_uncollectible,
                  finalized(800).id).status == "uncollectible"
    partly = finalized(900)
    intent = t.helper("/v1/payment_intents", amount=400, currency="usd", customer=customer.id,
                      payment_method="pm_card_visa", confirm="true")
    assert intent.status == "succeeded"
    partly = t.call("AttachInvoicePayment", v1.invoices.attach_payment, partly.id,
                    params={"payment_intent": intent.id})
    assert partly.amount_paid == 400 and partly.amount_remaining == 500 and partly.status == "open"
    doomed = v1.invoices.create(params={"customer": customer.id})
    gone = t.call("DeleteInvoice", v1.invoices.delete, doomed.id)
    assert gone.id == doomed.id
    preview = t.call("CreateInvoicePreview", v1.invoices.create_preview,
                     params={"customer": customer.id, "invoice_items": [{"amount": 1234, "currency": "usd"}]})
    assert preview.total == 1234
    found = t.call("SearchInvoices", v1.invoices.search,
                   params={"query": f'customer:"{customer.id}" AND status:"paid"'})
    assert [i.id for i in found.data] == [inv.id]


def invoice_items_section(t: Tour) -> None:
    v1 = t.client.v1
    customer = t.helper("/v1/customers", email="items@example.com")
    item = t.call("CreateInvoiceItem", v1.invoice_items.create,
                  params={"customer": customer.id, "amount": 321, "currency": "usd", "description": "pending"})
    assert item.invoice is None and item.amount == 321
    assert t.call("RetrieveInvoiceItem", v1.invoice_items.retrieve, item.id).id == item.id
    item = t.call("UpdateInvoiceItem", v1.invoice_items.update, item.id, params={"amount": 654})
    assert item.amount == 654
    listed = t.call("ListInvoiceItems", v1.invoice_items.list, params={"customer": customer.id, "pending": True})
    assert [i.id for i in listed.data] == [item.id]
    assert t.call("DeleteInvoiceItem", v1.invoice_items.delete, item.id).id == item.id


def rendering_templates_section(t: Tour) -> None:
    v1 = t.client.v1
    template = t.helper("/v1/test_helpers/invoice_rendering_templates", nickname="official")
    listed = t.call("ListInvoiceRenderingTemplates", v1.invoice_rendering_templates.list)
    assert template.id in [x.id for x in listed.data]
    assert t.call("RetrieveInvoiceRenderingTemplate", v1.invoice_rendering_templates.retrieve,
                  template.id).nickname == "official"
    assert t.call("ArchiveInvoiceRenderingTemplate", v1.invoice_rendering_templates.archive,
                  template.id).status == "archived"
    assert t.call("UnarchiveInvoiceRenderingTemplate", v1.invoice_rendering_templates.unarchive,
                  template.id).status == "active"


def financial_connections_section(t: Tour) -> None:
    fc = t.client.v1.financial_connections
    customer = t.helper("/v1/customers", email="fc@example.com")
    account = t.helper("/v1/test_helpers/financial_connections/accounts", customer=customer.id,
                       permissions=["balances", "transactions", "ownership"])
    refreshed = t.call("RefreshFinancialConnectionsAccount", fc.accounts.refresh, account.id,
                       params={"features": ["balance"]})
    assert refreshed.balance_refresh.status in ("pending", "succeeded")
    subscribed = t.call("SubscribeFinancialConnectionsAccount", fc.accounts.subscribe, account.id,
                        params={"features": ["transactions"]})
    assert subscribed.subscriptions == ["transactions"]
    assert t.call("UnsubscribeFinancialConnectionsAccount", fc.accounts.unsubscribe, account.id,
                  params={"features": ["transactions"]}).subscriptions == []
    session = t.call("CreateFinancialConnectionsSession", fc.sessions.create,
                     params={"account_holder": {"type": "customer", "customer": customer.id},
                             "permissions": ["balances", "transactions"]})
    assert t.call("RetrieveFinancialConnectionsSession", fc.sessions.retrieve, session.id).id == session.id
    txns = t.call("ListFinancialConnectionsTransactions", fc.transactions.list,
                  params={"account": account.id, "limit": 3})
    assert txns.data and all(x.account == account.id for x in txns.data)
    one = t.call("RetrieveFinancialConnectionsTransaction", fc.transactions.retrieve, txns.data[0].id)
    assert one.id == txns.data[0].id


def forwarding_section(t: Tour) -> None:
    fwd = t.client.v1.forwarding.requests
    pm = t.helper("/v1/payment_methods", type="card", card={"token": "pm_card_visa"})
    made = t.call("CreateForwardingRequest", fwd.create,
                  params={"payment_method": pm.id, "url": "https://processor.example/charge",
                          "replacements": ["card_number", "card_cvc"],
                          "request": {"body": '{"card": "{{card_number}}"}',
                                      "headers": [{"name": "X-Test", "value": "1"}]}})
    assert made.payment_method == pm.id
    assert made.id in [r.id for r in t.call("ListForwardingRequests", fwd.list, params={"limit": 10}).data]
    assert t.call("RetrieveForwardingRequest", fwd.retrieve, made.id).id == made.id


def identity_section(t: Tour) -> None:
    idv = t.client.v1.identity
    session = t.call("CreateIdentityVerificationSession", idv.verification_sessions.create,
                     params={"type": "document", "metadata": {"order": "1"}})
    assert session.status == "requires_input"
    assert t.call("RetrieveIdentityVerificationSession", idv.verification_sessions.retrieve,
                  session.id).id == session.id
    session = t.call("UpdateIdentityVerificationSession", idv.verification_sessions.update, session.id,
                     params={"metadata": {"order": "2"}})
    assert session.metadata["order"] == "2"
    listed = t.call("ListIdentityVerificationSessions", idv.verification_sessions.list, params={"limit": 10})
    assert session.id in [s.id for s in listed.data]
    other = idv.verification_sessions.create(params={"type": "id_number"})
    assert t.call("CancelIdentityVerificationSession", idv.verification_sessions.cancel,
                  other.id).status == "canceled"
    verified = t.helper(f"/v1/test_helpers/identity/verification_sessions/{session.id}/verify")
    assert verified.status == "verified"
    reports = t.call("ListIdentityVerificationReports", idv.verification_reports.list,
                     params={"verification_session": session.id})
    assert len(reports.data) == 1
    report = t.call("RetrieveIdentityVerificationReport", idv.verification_reports.retrieve, reports.data[0].id)
    assert report.verification_session == session.id
    redacted = t.call("RedactIdentityVerificationSession", idv.verification_sessions.redact, session.id)
    assert redacted.redaction is not None and redacted.metadata.to_dict() == {}


def issuing_section(t: Tour) -> None:
    auths = t.client.v1.issuing.authorizations
    made = t.helper("/v1/test_helpers/issuing/authorizations", amount=2500, currency="usd")
    listed = t.call("ListIssuingAuthorizations", auths.list, params={"limit": 10})
    assert made.id in [a.id for a in listed.data]
    assert t.call("RetrieveIssuingAuthorization", auths.retrieve, made.id).amount == 2500
    updated = t.call("UpdateIssuingAuthorization", auths.update, made.id, params={"metadata": {"ref": "x"}})
    assert updated.metadata["ref"] == "x"


SECTIONS = {
    "invoices": invoices_section, "invoice items": invoice_items_section,
    "rendering templates": rendering_templates_section, "financial connections": financial_connections_section,
    "forwarding": forwarding_section, "identity": identity_section, "issuing": issuing_section,
}


def read_through_sdk(contract: Contract, obj: Any, schema: dict, where: str = "") -> int:
    """Read every field the contract says Stripe always sends, at every depth, as SDK attributes (what integration
    code does: `inv.shipping_details.address.state`); an absent field raises AttributeError. Returns how many."""
    schema = contract.resolve(schema)
    if isinstance(obj, list):
        items = next((b for b in [schema, *schema.get("anyOf", [])] if "items" in b), None)
        return sum(read_through_sdk(contract, v, items["items"], f"{where}[]") for v in obj) if items else 0
    if not isinstance(obj, stripe.StripeObject):
        return 0
    branch = next((contract.resolve(b) for b in [schema, *schema.get("anyOf", [])]
                   if contract.resolve(b).get("properties")), None)
    if branch is None:
        return 0
    read = 0
    for name in branch.get("required", []):
        value = getattr(obj, name)  # AttributeError: the field the contract requires is missing
        read += 1 + read_through_sdk(contract, value, branch["properties"][name], f"{where}.{name}")
    return read


def test_includable_and_nested_fields_through_the_official_client(client: stripe.StripeClient) -> None:
    """Includable fields are absent until expanded and readable once expanded; nested objects given partially
    come back complete (null where unset); embedded objects are whole. All read through the SDK's attributes."""
    contract = load_contract()
    v1 = client.v1
    customer = client.deserialize(client.raw_request("post", "/v1/customers", email="nested@example.com"),
                                  api_mode="V1")
    inv = v1.invoices.create(params={
        "customer": customer.id, "collection_method": "send_invoice", "days_until_due": 7,
        "shipping_details": {"name": "Jenny Rosen", "address": {"line1": "1 Main St", "country": "US"}},
        "payment_settings": {"payment_method_types": ["card"]}})
    assert inv.shipping_details.address.state is None and inv.shipping_details.address.line2 is None
    assert inv.shipping_details.phone is None and inv.shipping_details.tracking_number is None
    assert inv.shipping_details.carrier is None and inv.shipping_details.address.line1 == "1 Main St"
    assert inv.payment_settings.default_mandate is None and inv.payment_settings.payment_method_options is None
    assert "payments" not in inv and "confirmation_secret" not in inv
    assert read_through_sdk(contract, inv, {"$ref": "#/components/schemas/invoice"}) > 50
    v1.invoices.add_lines(inv.id, params={"lines": [{"amount": 1200, "description": "nested"}]})
    opened = v1.invoices.finalize_invoice(inv.id, params={"expand": ["confirmation_secret"]})
    assert opened.confirmation_secret.type == "payment_intent"
    assert opened.confirmation_secret.client_secret.startswith("pi_")
    paid = v1.invoices.pay(inv.id, params={"paid_out_of_band": True, "expand": ["payments"]})
    assert isinstance(paid.payments, stripe.ListObject) and "confirmation_secret" not in paid
    assert isinstance(paid.payments.data[0], stripe.InvoicePayment) and paid.payments.data[0].status == "paid"
    assert paid.payments.data[0].amount_paid == 1200
    found = v1.invoices.search(params={"query": f'customer:"{customer.id}"', "expand": ["total_count"]})
    assert found.total_count == 1 and "total_count" not in v1.invoices.search(
        params={"query": f'customer:"{customer.id}"'})

    idv = v1.identity
    session = idv.verification_sessions.create(params={"type": "document",
                                                       "provided_details": {"email": "jenny@example.com"}})
    assert "provided_details" not in session and "verified_outputs" not in session
    client.raw_request("post", f"/v1/test_helpers/identity/verification_sessions/{session.id}/verify")
    session = idv.verification_sessions.retrieve(session.id, params={
        "expand": ["provided_details", "verified_outputs", "verified_outputs.dob"]})
    assert session.provided_details.email == "jenny@example.com" and session.provided_details.phone is None
    assert session.verified_outputs.first_name and session.verified_outputs.dob.year > 1900
    assert "id_number" not in session.verified_outputs  # only verified_outputs.dob was expanded
    report = idv.verification_reports.retrieve(session.last_verification_report,
                                               params={"expand": ["document.dob", "document.number"]})
    assert report.document.dob.year > 1900 and report.document.number
    assert "sex" not in report.document and report.document.expiration_date.year > 2000
    assert read_through_sdk(contract, report, {"$ref": "#/components/schemas/identity.verification_report"}) > 20

    auth = client.deserialize(client.raw_request("post", "/v1/test_helpers/issuing/authorizations", amount=900),
                              api_mode="V1")
    auth = v1.issuing.authorizations.retrieve(auth.id, params={"expand": ["cardholder"]})
    card = auth.card
    assert isinstance(card, stripe.issuing.Card) and card.object == "issuing.card"
    assert card.last4 and card.brand and card.status == "active" and 1 <= card.exp_month <= 12 and card.exp_year
    assert "number" not in card and "cvc" not in card  # includable: only when expanded
    assert isinstance(auth.cardholder, stripe.issuing.Cardholder) and auth.cardholder.id == card.cardholder.id
    assert card.cardholder.name and card.cardholder.billing.address.country
    assert read_through_sdk(contract, auth, {"$ref": "#/components/schemas/issuing.authorization"}) > 50


def test_every_operation_through_the_official_client(client: stripe.StripeClient) -> None:
    contract = load_contract()
    tour = Tour(client, contract)
    for name, fn in SECTIONS.items():
        tour.section(name, lambda fn=fn: fn(tour))
    seed = {op.operation_id for op in contract.seed_operations}
    missing = sorted(seed - tour.exercised)
    assert not tour.failures, "sections failed:\n" + "\n".join(tour.failures) + \
        f"\n(never exercised: {', '.join(missing) or 'none'})"
    assert len(seed) == 50
    assert not missing, f"operations never exercised through the official client: {', '.join(missing)}"
