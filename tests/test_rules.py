"""The business-rules table (contracts/rules.yaml) and the regressions it fixed.

The table is complete and well-formed, the README lists it verbatim, and the mock gives Stripe's answers for the
inputs that were wrong before (issue 11 items 3 and 4): `due_date` only on `send_invoice` invoices, and `send`
only for `send_invoice` invoices, paid ones included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.loader import load_contract
from contracts.rules import KINDS, load_rules, parse
from mockserver.testing import InProcessClient, fails, ok

ROOT = Path(__file__).resolve().parent.parent
RULES = load_rules()
INVOICES = "/v1/invoices"
DUE = 1_900_000_000


# -- the table ------------------------------------------------------------------------------------------------------


def test_every_row_is_well_formed_and_names_real_operations() -> None:
    contract = load_contract()
    assert len(RULES.rules) >= 40
    for rule in RULES.rules.values():
        assert rule.kind in KINDS and rule.statement and rule.area
        if rule.source is not None:
            assert rule.source.url.startswith("https://docs.stripe.com/") and len(rule.source.quote) > 20
        for op in [rule.data.get("operation"), *rule.data.get("operations", [])]:
            if op is not None:
                assert op in contract.operations, (rule.id, op)


def test_every_object_with_transitions_has_a_refusal_rule() -> None:
    for obj in {r.data["object"] for r in RULES.of_kind("transition")}:
        assert RULES.refusal(obj).kind == "refuses"


def test_malformed_rows_are_refused_with_the_row_named() -> None:
    with pytest.raises(ValueError, match=r"x\.y"):
        parse({"rules": [{"id": "x.y", "statement": "s", "source": None}]})
    with pytest.raises(ValueError, match="url and a quote"):
        parse({"rules": [{"id": "x.z", "statement": "s", "refuses": {"object": "o"}, "source": {"url": "u"}}]})


def test_the_readme_lists_the_table_verbatim() -> None:
    """`python -m contracts.rules` prints the table; the README must hold exactly that text."""
    assert RULES.markdown() in (ROOT / "README.md").read_text(encoding="utf-8"), \
        "README's rules table is stale: paste the output of `python -m contracts.rules`"


def test_the_invoice_transition_table_is_stripes() -> None:
    """Spot checks against Stripe's published table and the send reference."""
    decide = RULES.decide
    assert decide("invoice", "send", "paid", "send_invoice").result == "paid"
    assert decide("invoice", "send", "open", "charge_automatically").result is None
    assert decide("invoice", "send", "open", "charge_automatically").rules[0].id == "invoice.send.collection_method"
    assert decide("invoice", "void", "draft", "send_invoice").rules[0].id == "invoice.refuses"
    assert decide("invoice", "pay", "uncollectible", "charge_automatically").result == "paid"
    assert decide("invoice", "delete", "draft").result == "deleted"
    assert set(RULES.statuses("invoice")) == {"draft", "open", "paid", "void", "uncollectible"}


def test_unsourced_rules_are_asserted_on_external_targets_only_when_asked() -> None:
    unsourced = RULES["template.refuses"]
    assert not unsourced.sourced
    assert RULES.assertable(unsourced, external=False, unsourced=False)
    assert not RULES.assertable(unsourced, external=True, unsourced=False)
    assert RULES.assertable(unsourced, external=True, unsourced=True)
    assert RULES.assertable(RULES["invoice.send"], external=True, unsourced=False)


# -- regressions: Stripe's answers ----------------------------------------------------------------------------------


@pytest.fixture
def customer(client: InProcessClient) -> str:
    return ok(client.post("/v1/customers", {"email": "rules@example.com"}), "CreateCustomer")["id"]


def _count(client: InProcessClient) -> int:
    return len(ok(client.get(INVOICES, {"limit": 100}), "ListInvoices")["data"])


@pytest.mark.parametrize("params", [
    {"due_date": DUE},  # the default collection method is charge_automatically
    {"collection_method": "charge_automatically", "due_date": DUE},
    {"days_until_due": 10},
    {"collection_method": "charge_automatically", "days_until_due": 10},
])
def test_due_date_on_a_charge_automatically_invoice_is_refused(client, customer, params) -> None:
    before = _count(client)
    param = "due_date" if "due_date" in params else "days_until_due"
    fails(client.post(INVOICES, {"customer": customer, **params}), 400, param=param)
    assert _count(client) == before  # nothing was created


def test_due_date_on_a_send_invoice_invoice_is_kept(client, customer) -> None:
    inv = ok(client.post(INVOICES, {"customer": customer, "collection_method": "send_invoice", "due_date": DUE}),
             "CreateInvoice")
    assert inv["due_date"] == DUE
    inv = ok(client.post(INVOICES, {"customer": customer, "collection_method": "send_invoice",
                                    "days_until_due": 10}), "CreateInvoice")
    assert inv["due_date"] == inv["created"] + 10 * 86400


def test_switching_a_send_invoice_draft_to_charge_automatically_clears_due_date(client, customer) -> None:
    inv = ok(client.post(INVOICES, {"customer": customer, "collection_method": "send_invoice", "due_date": DUE}),
             "CreateInvoice")
    after = ok(client.post(f"{INVOICES}/{inv['id']}", {"collection_method": "charge_automatically"}),
               "UpdateInvoice")
    assert after["collection_method"] == "charge_automatically" and after["due_date"] is None
    back = ok(client.post(f"{INVOICES}/{inv['id']}", {"collection_method": "send_invoice", "due_date": DUE}),
              "UpdateInvoice")
    assert back["due_date"] == DUE


@pytest.mark.parametrize("params", [{"due_date": DUE}, {"days_until_due": 5},
                                    {"collection_method": "charge_automatically", "due_date": DUE}])
def test_due_date_update_on_a_charge_automatically_draft_is_refused(client, customer, params) -> None:
    inv = ok(client.post(INVOICES, {"customer": customer, "collection_method": "send_invoice", "due_date": DUE}),
             "CreateInvoice")
    if "collection_method" not in params:
        inv = ok(client.post(f"{INVOICES}/{inv['id']}", {"collection_method": "charge_automatically"}),
                 "UpdateInvoice")
    fails(client.post(f"{INVOICES}/{inv['id']}", params), 400, param=next(p for p in params if "due" in p))
    assert ok(client.get(f"{INVOICES}/{inv['id']}"), "RetrieveInvoice") == inv


def _open(client: InProcessClient, customer: str, method: str) -> dict:
    inv = ok(client.post(INVOICES, {"customer": customer, "collection_method": method}), "CreateInvoice")
    ok(client.post(f"{INVOICES}/{inv['id']}/add_lines", {"lines": [{"amount": 1000}]}), "AddInvoiceLines")
    return ok(client.post(f"{INVOICES}/{inv['id']}/finalize"), "FinalizeInvoice")


def test_sending_a_charge_automatically_invoice_is_refused(client, customer) -> None:
    inv = _open(client, customer, "charge_automatically")
    fails(client.post(f"{INVOICES}/{inv['id']}/send"), 400)
    assert ok(client.get(f"{INVOICES}/{inv['id']}"), "RetrieveInvoice") == inv


def test_a_paid_send_invoice_invoice_can_be_sent(client, customer) -> None:
    inv = _open(client, customer, "send_invoice")
    paid = ok(client.post(f"{INVOICES}/{inv['id']}/pay", {"paid_out_of_band": "true"}), "PayInvoice")
    sent = ok(client.post(f"{INVOICES}/{inv['id']}/send"), "SendInvoice")
    assert sent["status"] == "paid" and sent["amount_paid"] == paid["amount_paid"]
