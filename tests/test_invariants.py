"""The amount relations (harness/invariants.py, rows `relation` of contracts/rules.yaml).

Every relation row has a check and a planted fault; the clean mock satisfies every relation in every answer of a
representative invoice flow (shipping, per-unit prices, every status); and each planted relation fault is caught
by its own relation in that same flow.
"""

from __future__ import annotations

import pytest

from contracts.rules import load_rules
from harness.invariants import RELATIONS, violations
from mockserver.app import MockApp
from mockserver.faults import CATALOGUE, RELATION_FAULTS
from mockserver.hooks import build_hooks
from mockserver.testing import InProcessClient, ok

RULES = load_rules()
SHIPPING = {"shipping_rate_data": {"display_name": "Ground", "type": "fixed_amount",
                                   "fixed_amount": {"amount": 300, "currency": "usd"}}}
LINES = [{"amount": 1000, "description": "flat"},
         {"price_data": {"product": "prod_x", "unit_amount_decimal": "12.5", "currency": "usd"}, "quantity": 3}]


def test_every_relation_row_has_a_check_and_a_fault() -> None:
    rows = {r.id for r in RULES.of_kind("relation")}
    assert set(RELATIONS) == rows
    assert set(RELATION_FAULTS.values()) == rows
    assert set(RELATION_FAULTS) <= set(CATALOGUE)


def test_relations_are_sourced() -> None:
    """Relations are checked on every response of every target, so each needs a Stripe source."""
    assert all(RULES[rule_id].sourced for rule_id in RELATIONS)


def flow(client: InProcessClient) -> list[dict]:
    """Answers of a flow that gives every relation something to check."""
    answers = []

    def keep(answer, op: str) -> dict:
        body = ok(answer, op)
        answers.append(body)
        return body

    customer = keep(client.post("/v1/customers", {"email": "sums@example.com"}), "CreateCustomer")["id"]
    for method, pay in (("charge_automatically", {"payment_method": "pm_card_visa"}),
                        ("send_invoice", {"paid_out_of_band": "true"})):
        inv = keep(client.post("/v1/invoices", {"customer": customer, "collection_method": method,
                                               "shipping_cost": SHIPPING}), "CreateInvoice")
        keep(client.post(f"/v1/invoices/{inv['id']}/add_lines", {"lines": LINES}), "AddInvoiceLines")
        keep(client.post(f"/v1/invoices/{inv['id']}/finalize"), "FinalizeInvoice")
        keep(client.post(f"/v1/invoices/{inv['id']}/pay", pay), "PayInvoice")
    keep(client.post("/v1/invoiceitems", {"customer": customer, "currency": "usd", "quantity": 4,
                                          "unit_amount_decimal": "250"}), "CreateInvoiceItem")
    keep(client.get("/v1/invoices", {"limit": 10}), "ListInvoices")
    keep(client.get("/v1/invoiceitems", {"limit": 10}), "ListInvoiceItems")
    return answers


def test_the_clean_mock_keeps_every_relation() -> None:
    answers = flow(InProcessClient(MockApp()))
    assert [v for body in answers for v in violations(body)] == []


@pytest.mark.parametrize("fault", sorted(RELATION_FAULTS))
def test_each_relation_fault_is_caught_by_its_relation(fault: str) -> None:
    answers = flow(InProcessClient(MockApp(hooks=build_hooks([fault], []))))
    caught = {v.rule.id for body in answers for v in violations(body)}
    assert RELATION_FAULTS[fault] in caught, caught


def test_a_violation_names_where_and_why() -> None:
    inv = {"object": "invoice", "id": "in_1", "status": "open", "amount_due": 1000, "amount_paid": 400,
           "amount_remaining": 1000}
    (found,) = violations({"object": "list", "data": [inv]})
    assert found.rule.id == "amounts.amount_remaining" and found.path == "data[0]" and found.object_id == "in_1"
    assert "amount_remaining 1000 != amount_due 1000 - amount_paid 400" in found.detail
