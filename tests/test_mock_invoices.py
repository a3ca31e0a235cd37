"""The mock's invoice behaviour (handlers in mockserver/handlers/invoices.py and invoice_items.py), in-process.

The lifecycle follows Stripe's published transition table (rows `invoice.*` of contracts/rules.yaml): every legal
transition is exercised and every illegal one must be a 400 that leaves the invoice exactly as it was. Amounts,
numbering, payments, the preview, items, search, pagination, expansion, idempotency and account isolation are
checked against hand-computed values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from contracts.rules import load_rules
from mockserver.testing import Answer, InProcessClient, fails, listed, ok

INVOICES = "/v1/invoices"
ITEMS = "/v1/invoiceitems"
STATES = ("draft", "open", "paid", "void", "uncollectible")





@pytest.fixture
def customer(client: InProcessClient) -> str:
    return ok(client.post("/v1/customers", {"email": "inv@example.com", "name": "Jenny"}), "CreateCustomer")["id"]




def new_invoice(client: InProcessClient, customer: str, amounts: tuple[int, ...] = (1000,), **params: Any) -> dict:
    inv = ok(client.post(INVOICES, {"customer": customer, **params}), "CreateInvoice")
    if amounts:
        inv = ok(client.post(f"{INVOICES}/{inv['id']}/add_lines",
                             {"lines": [{"amount": a, "description": f"line {n}"} for n, a in enumerate(amounts)]}),
                 "AddInvoiceLines")
    return inv


def act(client: InProcessClient, invoice: str, action: str, params: dict | None = None) -> Answer:
    if action == "delete":
        return client.delete(f"{INVOICES}/{invoice}")
    if action == "update":
        return client.post(f"{INVOICES}/{invoice}", params or {})
    return client.post(f"{INVOICES}/{invoice}/{action}", params or {})


def invoice_in(client: InProcessClient, customer: str, state: str,
               collection_method: str = "charge_automatically") -> dict:
    """An invoice of 1000 in the given state, reached through legal transitions only."""
    inv = new_invoice(client, customer, collection_method=collection_method)
    steps = {"draft": [], "open": ["finalize"], "paid": ["finalize", "pay"], "void": ["finalize", "void"],
             "uncollectible": ["finalize", "mark_uncollectible"]}[state]
    for step in steps:
        inv = ok(act(client, inv["id"], step), "FinalizeInvoice")
    assert inv["status"] == state
    return inv


def get(client: InProcessClient, invoice: str, **params: Any) -> dict:
    return ok(client.get(f"{INVOICES}/{invoice}", params), "RetrieveInvoice")


def payments_of(client: InProcessClient, invoice: str) -> list[dict]:
    return ok(client.get("/v1/invoice_payments", {"invoice": invoice}), "ListInvoicePayments")["data"]


def succeeded_intent(client: InProcessClient, amount: int, currency: str = "usd") -> dict:
    intent = ok(client.post("/v1/payment_intents", {"amount": amount, "currency": currency,
                                                    "payment_method": "pm_card_visa", "confirm": True}),
                "CreatePaymentIntent")
    assert intent["status"] == "succeeded"
    return intent


# -- the transition table ---------------------------------------------------------------------------------------

# The table itself comes from contracts/rules.yaml (stated once); the regression tests below pin Stripe's answers
# for the cases that were wrong before.
RULES = load_rules()
METHODS = ("charge_automatically", "send_invoice")
ACTIONS = ("finalize", "pay", "send", "void", "mark_uncollectible", "delete")
CASES = [(s, a, m) for s in STATES for a in ACTIONS for m in METHODS]
LEGAL = {c: RULES.decide("invoice", c[1], c[0], c[2]).result for c in CASES
         if RULES.decide("invoice", c[1], c[0], c[2]).legal}
ILLEGAL = [c for c in CASES if c not in LEGAL]
DRAFT_ONLY: dict[str, Callable[[dict], dict]] = {
    "add_lines": lambda inv: {"lines": [{"amount": 5}]},
    "remove_lines": lambda inv: {"lines": [{"id": inv["lines"]["data"][0]["id"], "behavior": "delete"}]},
    "update_lines": lambda inv: {"lines": [{"id": inv["lines"]["data"][0]["id"], "amount": 5}]},
    "update": lambda inv: {"collection_method": "send_invoice", "days_until_due": 3},
}


@pytest.mark.parametrize(("state", "action", "method"), sorted(LEGAL))
def test_legal_transition(client: InProcessClient, customer: str, state: str, action: str, method: str) -> None:
    inv = invoice_in(client, customer, state, method)
    answer = act(client, inv["id"], action)
    want = LEGAL[(state, action, method)]
    if want == "deleted":
        assert ok(answer, "DeleteInvoice") == {"id": inv["id"], "object": "invoice", "deleted": True}
        fails(client.get(f"{INVOICES}/{inv['id']}"), 404, code="resource_missing")
        listed = ok(client.get(INVOICES, {"limit": 100}), "ListInvoices")["data"]
        assert inv["id"] not in [i["id"] for i in listed]
        return
    after = ok(answer, "FinalizeInvoice")
    assert after["status"] == want
    assert get(client, inv["id"]) == after
    transitions = after["status_transitions"]
    assert transitions["finalized_at"] is not None and after["number"]
    stamp = {"paid": "paid_at", "void": "voided_at", "uncollectible": "marked_uncollectible_at"}.get(want)
    if stamp:
        assert isinstance(transitions[stamp], int) and transitions[stamp] >= transitions["finalized_at"]
    if want == "paid":
        assert after["amount_paid"] == after["amount_due"] == 1000 and after["amount_remaining"] == 0
        assert [(p["status"], p["amount_paid"]) for p in payments_of(client, inv["id"])] == [("paid", 1000)]


@pytest.mark.parametrize(("state", "action", "method"), ILLEGAL)
def test_illegal_transition_is_400_and_changes_nothing(client: InProcessClient, customer: str, state: str,
                                                       action: str, method: str) -> None:
    inv = invoice_in(client, customer, state, method)
    before = get(client, inv["id"])
    fails(act(client, inv["id"], action), 400)
    assert get(client, inv["id"]) == before
    assert len(payments_of(client, inv["id"])) == (1 if state == "paid" else 0)


@pytest.mark.parametrize("state", [s for s in STATES if s != "draft"])
@pytest.mark.parametrize("action", sorted(DRAFT_ONLY))
def test_only_drafts_change_lines_and_money(client: InProcessClient, customer: str, state: str, action: str) -> None:
    inv = invoice_in(client, customer, state)
    before = get(client, inv["id"])
    fails(act(client, inv["id"], action, DRAFT_ONLY[action](before)), 400)
    assert get(client, inv["id"]) == before


@pytest.mark.parametrize("action", sorted(DRAFT_ONLY))
def test_drafts_change_lines_and_money(client: InProcessClient, customer: str, action: str) -> None:
    inv = invoice_in(client, customer, "draft")
    after = ok(act(client, inv["id"], action, DRAFT_ONLY[action](inv)), "UpdateInvoice")
    assert after["status"] == "draft"
    assert after["subtotal"] == sum(line["amount"] for line in after["lines"]["data"])


def test_metadata_stays_editable_after_finalize(client: InProcessClient, customer: str) -> None:
    inv = invoice_in(client, customer, "open")
    after = ok(act(client, inv["id"], "update", {"metadata": {"k": "v"}, "description": "late note"}), "UpdateInvoice")
    assert after["metadata"] == {"k": "v"} and after["description"] == "late note"
    assert after["total"] == inv["total"] and after["status"] == "open"


def test_pay_and_send_on_a_draft_are_finalize_first(client: InProcessClient, customer: str) -> None:
    """The shortcut gives exactly what finalize-then-pay (or -send) gives, apart from IDs, times and numbers."""
    volatile = {"id", "number", "created", "status_transitions", "effective_at", "webhooks_delivered_at", "lines",
                "hosted_invoice_url", "invoice_pdf", "period_start", "period_end", "due_date"}

    def stable(inv: dict) -> dict:
        return {k: v for k, v in inv.items() if k not in volatile}

    for action in ("pay", "send"):
        method = {"collection_method": "send_invoice"}  # send needs it (rule invoice.send.collection_method)
        direct = ok(act(client, new_invoice(client, customer, **method)["id"], action), "PayInvoice")
        stepwise = new_invoice(client, customer, **method)
        ok(act(client, stepwise["id"], "finalize"), "FinalizeInvoice")
        stepwise = ok(act(client, stepwise["id"], action), "PayInvoice")
        assert stable(direct) == stable(stepwise), action
        # the due date follows the creation time (two invoices made a second apart differ by that second)
        assert direct["due_date"] - direct["created"] == stepwise["due_date"] - stepwise["created"], action
        assert direct["number"] and direct["status_transitions"]["finalized_at"]


# -- amounts, numbers, payments -----------------------------------------------------------------------------------


def test_amounts(client: InProcessClient, customer: str) -> None:
    inv = new_invoice(client, customer, (1000, 250, 1))
    assert inv["subtotal"] == inv["total"] == inv["amount_due"] == inv["amount_remaining"] == 1251
    assert inv["amount_paid"] == 0
    inv = invoice_in(client, customer, "open")
    first, second = succeeded_intent(client, 300), succeeded_intent(client, 700)
    partly = ok(client.post(f"{INVOICES}/{inv['id']}/attach_payment", {"payment_intent": first["id"]}),
                "AttachInvoicePayment")
    assert (partly["status"], partly["amount_paid"], partly["amount_remaining"]) == ("open", 300, 700)
    assert partly["amount_remaining"] == partly["amount_due"] - partly["amount_paid"]
    fails(client.post(f"{INVOICES}/{inv['id']}/attach_payment", {"payment_intent": first["id"]}), 400,
          "payment_intent")
    full = ok(client.post(f"{INVOICES}/{inv['id']}/attach_payment", {"payment_intent": second["id"]}),
              "AttachInvoicePayment")
    assert (full["status"], full["amount_paid"], full["amount_remaining"]) == ("paid", 1000, 0)
    assert sorted(p["amount_paid"] for p in payments_of(client, inv["id"])) == [300, 700]
    too_much = invoice_in(client, customer, "open")
    fails(client.post(f"{INVOICES}/{too_much['id']}/attach_payment",
                      {"payment_intent": succeeded_intent(client, 5000)["id"]}), 400, "payment_intent")
    assert get(client, too_much["id"])["amount_paid"] == 0


def test_finalize_sets_number_and_transitions(client: InProcessClient, customer: str) -> None:
    a, b = new_invoice(client, customer), new_invoice(client, customer)
    assert a["number"] is None and a["status_transitions"]["finalized_at"] is None
    fa = ok(act(client, a["id"], "finalize"), "FinalizeInvoice")
    fb = ok(act(client, b["id"], "finalize"), "FinalizeInvoice")
    assert fa["number"] and fb["number"] and fa["number"] != fb["number"]
    assert isinstance(fa["status_transitions"]["finalized_at"], int)
    assert fa["status_transitions"]["paid_at"] is None and fa["status_transitions"]["voided_at"] is None
    assert fa["hosted_invoice_url"] and fa["invoice_pdf"]


def test_zero_amount_finalize_is_paid_at_once(client: InProcessClient, customer: str) -> None:
    inv = ok(act(client, new_invoice(client, customer, ())["id"], "finalize"), "FinalizeInvoice")
    assert inv["status"] == "paid" and inv["amount_due"] == inv["amount_paid"] == inv["amount_remaining"] == 0
    assert inv["status_transitions"]["paid_at"] is not None and inv["number"]
    fails(act(client, inv["id"], "pay"), 400)


def test_declined_payment_leaves_invoice_open(client: InProcessClient, customer: str) -> None:
    inv = invoice_in(client, customer, "open")
    error = fails(act(client, inv["id"], "pay", {"payment_method": "pm_card_chargeDeclined"}), 402,
                  code="card_declined", type_="card_error")
    assert error["decline_code"] == "generic_decline"
    after = get(client, inv["id"])
    assert (after["status"], after["amount_paid"], after["amount_remaining"]) == ("open", 0, 1000)
    assert after["status_transitions"]["paid_at"] is None
    assert [p for p in payments_of(client, inv["id"]) if p["status"] == "paid"] == []
    paid = ok(act(client, inv["id"], "pay", {"payment_method": "pm_card_visa"}), "PayInvoice")
    assert paid["status"] == "paid"


def test_pay_creates_invoice_payment(client: InProcessClient, customer: str) -> None:
    inv = invoice_in(client, customer, "open")
    paid = ok(act(client, inv["id"], "pay"), "PayInvoice")
    (payment,) = payments_of(client, inv["id"])
    assert payment["id"].startswith("inpay_") and payment["invoice"] == inv["id"]
    assert payment["status"] == "paid" and payment["amount_paid"] == paid["amount_due"] == 1000
    assert ok(client.get(f"/v1/invoice_payments/{payment['id']}"), "RetrieveInvoicePayment") == payment
    out_of_band = ok(act(client, invoice_in(client, customer, "open")["id"], "pay", {"paid_out_of_band": True}),
                     "PayInvoice")
    assert out_of_band["status"] == "paid"


# -- preview ---------------------------------------------------------------------------------------------------


def test_preview_is_computed_not_stored(client: InProcessClient, customer: str) -> None:
    pending = ok(client.post(ITEMS, {"customer": customer, "amount": 400}), "CreateInvoiceItem")
    preview = ok(client.post(f"{INVOICES}/create_preview",
                             {"customer": customer, "invoice_items": [{"amount": 600, "currency": "usd"}]}),
                 "CreateInvoicePreview")
    assert preview["subtotal"] == preview["total"] == preview["amount_due"] == 1000
    assert sorted(line["amount"] for line in preview["lines"]["data"]) == [400, 600]
    fails(client.get(f"{INVOICES}/{preview['id']}"), 404)
    assert ok(client.get(INVOICES), "ListInvoices")["data"] == []
    assert ok(client.get(f"{INVOICES}/search", {"query": f'customer:"{customer}"'}), "SearchInvoices")["data"] == []
    assert ok(client.get(f"{ITEMS}/{pending['id']}"), "RetrieveInvoiceItem")["invoice"] is None
    items = ok(client.get(ITEMS), "ListInvoiceItems")["data"]
    assert [i["id"] for i in items] == [pending["id"]]
    fails(client.post(f"{INVOICES}/create_preview", {}), 400)


# -- invoice items ---------------------------------------------------------------------------------------------


def test_items_pending_and_attached(client: InProcessClient, customer: str) -> None:
    pending = ok(client.post(ITEMS, {"customer": customer, "amount": 111}), "CreateInvoiceItem")
    assert pending["invoice"] is None
    inv = new_invoice(client, customer, ())
    attached = ok(client.post(ITEMS, {"invoice": inv["id"], "amount": 222}), "CreateInvoiceItem")
    assert attached["invoice"] == inv["id"] and attached["customer"] == customer
    assert get(client, inv["id"])["subtotal"] == 222

    ids = functools.partial(listed, client, ITEMS, "ListInvoiceItems")

    assert ids(pending=True) == [pending["id"]]
    assert ids(pending=False) == [attached["id"]]
    assert ids(invoice=inv["id"]) == [attached["id"]]
    included = ok(client.post(INVOICES, {"customer": customer, "pending_invoice_items_behavior": "include"}),
                  "CreateInvoice")
    assert included["subtotal"] == 111
    assert ok(client.get(f"{ITEMS}/{pending['id']}"), "RetrieveInvoiceItem")["invoice"] == included["id"]
    updated = ok(client.post(f"{ITEMS}/{attached['id']}", {"amount": 333}), "UpdateInvoiceItem")
    assert updated["amount"] == 333 and get(client, inv["id"])["subtotal"] == 333
    ok(client.delete(f"{ITEMS}/{attached['id']}"), "DeleteInvoiceItem")
    assert get(client, inv["id"])["subtotal"] == 0


def test_remove_lines_unassign_and_delete(client: InProcessClient, customer: str) -> None:
    inv = new_invoice(client, customer, (100, 200))
    keep, drop = inv["lines"]["data"]
    keep_item = keep["parent"]["invoice_item_details"]["invoice_item"]
    drop_item = drop["parent"]["invoice_item_details"]["invoice_item"]
    after = ok(client.post(f"{INVOICES}/{inv['id']}/remove_lines",
                           {"lines": [{"id": keep["id"], "behavior": "unassign"},
                                      {"id": drop["id"], "behavior": "delete"}]}), "RemoveInvoiceLines")
    assert after["lines"]["data"] == [] and after["subtotal"] == 0
    item = ok(client.get(f"{ITEMS}/{keep_item}"), "RetrieveInvoiceItem")
    assert item["invoice"] is None and item["amount"] == 100
    fails(client.get(f"{ITEMS}/{drop_item}"), 404, code="resource_missing")
    again = ok(client.post(f"{INVOICES}/{inv['id']}/add_lines", {"lines": [{"invoice_item": keep_item}]}),
               "AddInvoiceLines")
    assert again["subtotal"] == 100
    fails(client.post(f"{INVOICES}/{inv['id']}/remove_lines", {"lines": [{"id": "il_missing", "behavior": "delete"}]}),
          400, "lines[0][id]")


def test_item_on_finalized_invoice_is_frozen(client: InProcessClient, customer: str) -> None:
    inv = invoice_in(client, customer, "open")
    item_id = inv["lines"]["data"][0]["parent"]["invoice_item_details"]["invoice_item"]
    before = ok(client.get(f"{ITEMS}/{item_id}"), "RetrieveInvoiceItem")
    fails(client.post(f"{ITEMS}/{item_id}", {"amount": 1}), 400)
    fails(client.delete(f"{ITEMS}/{item_id}"), 400)
    fails(client.post(ITEMS, {"invoice": inv["id"], "amount": 5}), 400, "invoice")
    fails(client.post(f"{INVOICES}/{inv['id']}/lines/{inv['lines']['data'][0]['id']}", {"amount": 1}), 400)
    assert ok(client.get(f"{ITEMS}/{item_id}"), "RetrieveInvoiceItem") == before
    assert get(client, inv["id"])["total"] == 1000


# -- search ----------------------------------------------------------------------------------------------------


@pytest.fixture
def searchable(client: InProcessClient, customer: str) -> dict[str, dict]:
    """Invoices in several states, amounts and metadata."""
    made = {
        "draft_small": new_invoice(client, customer, (100,), metadata={"team": "red"}),
        "open_big": invoice_in(client, customer, "open"),
        "paid": invoice_in(client, customer, "paid"),
        "void": invoice_in(client, customer, "void"),
    }
    ok(client.post(f"{INVOICES}/{made['open_big']['id']}", {"metadata": {"team": "red"}}), "UpdateInvoice")
    ok(client.post(f"{INVOICES}/{made['paid']['id']}", {"metadata": {"team": "blue"}}), "UpdateInvoice")
    big = new_invoice(client, customer, (5000,))
    made["open_huge"] = ok(act(client, big["id"], "finalize"), "FinalizeInvoice")
    return made


@pytest.mark.parametrize(("query", "names"), [
    ('status:"open"', {"open_big", "open_huge"}),
    ("status:'draft'", {"draft_small"}),
    ('status:"open" AND metadata["team"]:"red"', {"open_big"}),
    ('status:"open" metadata["team"]:"red"', {"open_big"}),
    ('status:"paid" OR status:"void"', {"paid", "void"}),
    ('-status:"draft"', {"open_big", "open_huge", "paid", "void"}),
    ('-status:"draft" AND -status:"void"', {"open_big", "open_huge", "paid"}),
    ("total>1000", {"open_huge"}),
    ("total>=1000", {"open_big", "open_huge", "paid", "void"}),
    ("total<1000", {"draft_small"}),
    ('metadata["team"]:"red"', {"draft_small", "open_big"}),
    ('metadata["team"]:"green"', set()),
    ('-metadata["team"]:"red"', {"open_huge", "paid", "void"}),
    ('currency:"usd" AND total<=100', {"draft_small"}),
])
def test_search_query_language(client: InProcessClient, searchable: dict[str, dict], query: str,
                               names: set[str]) -> None:
    result = ok(client.get(f"{INVOICES}/search", {"query": query, "limit": 100}), "SearchInvoices")
    assert result["object"] == "search_result" and result["url"] == f"{INVOICES}/search"
    assert {i["id"] for i in result["data"]} == {searchable[n]["id"] for n in names}


@pytest.mark.parametrize("query", [
    "", "status:", 'status:"open" AND', 'foo:"x"', 'status:"open" AND total>1 OR status:"paid"', 'status="open"',
    'total>"abc"', 'metadata:"x"', 'status:"open', "total>", 'status:"open" ' * 11, 'metadata["k"]>"1"',
])
def test_malformed_search_is_400_query(client: InProcessClient, searchable: dict[str, dict], query: str) -> None:
    fails(client.get(f"{INVOICES}/search", {"query": query}), 400, "query")


def test_search_pages(client: InProcessClient, searchable: dict[str, dict]) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"query": 'currency:"usd"', "limit": 2}
    while True:
        page = ok(client.get(f"{INVOICES}/search", params), "SearchInvoices")
        seen += [i["id"] for i in page["data"]]
        if not page["has_more"]:
            assert page["next_page"] is None
            break
        params["page"] = page["next_page"]
    assert sorted(seen) == sorted(i["id"] for i in searchable.values()) and len(seen) == len(set(seen))
    fails(client.get(f"{INVOICES}/search", {"query": 'currency:"usd"', "page": "garbage!"}), 400, "page")


# -- lines pagination and expand --------------------------------------------------------------------------------


def test_lines_pagination(client: InProcessClient, customer: str) -> None:
    inv = new_invoice(client, customer, tuple(range(1, 26)))
    assert len(inv["lines"]["data"]) == 10 and inv["lines"]["has_more"] is True
    assert inv["subtotal"] == sum(range(1, 26))
    path = f"{INVOICES}/{inv['id']}/lines"
    walked: list[dict] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        page = ok(client.get(path, params), "ListInvoiceLines")
        assert page["url"] == path and len(page["data"]) <= 7
        walked += page["data"]
        if not page["has_more"]:
            break
        params = {"limit": 7, "starting_after": page["data"][-1]["id"]}
    assert [line["amount"] for line in walked] == list(range(1, 26))
    assert walked[:10] == inv["lines"]["data"]
    before = ok(client.get(path, {"ending_before": walked[10]["id"], "limit": 3}), "ListInvoiceLines")
    assert [line["id"] for line in before["data"]] == [line["id"] for line in walked[7:10]]
    assert before["has_more"] is True
    fails(client.get(path, {"starting_after": "il_missing"}), 400, "starting_after")
    fails(client.get(path, {"limit": 0}), 400, "limit")
    fails(client.get(path, {"limit": 101}), 400, "limit")


def test_expand(client: InProcessClient, customer: str) -> None:
    inv = new_invoice(client, customer, (100,))
    expanded = get(client, inv["id"], expand=["customer"])
    assert expanded["customer"]["id"] == customer and expanded["customer"]["object"] == "customer"
    nested = get(client, inv["id"], expand=["lines.data.discounts"])
    assert nested["lines"]["data"][0]["discounts"] == []
    listed = ok(client.get(INVOICES, {"expand": ["data.customer"]}), "ListInvoices")
    assert listed["data"][0]["customer"]["id"] == customer
    made = ok(client.post(f"{INVOICES}/{inv['id']}/add_lines", {"lines": [{"amount": 1}], "expand": ["customer"]}),
              "AddInvoiceLines")
    assert made["customer"]["id"] == customer
    fails(client.get(f"{INVOICES}/{inv['id']}", {"expand": ["status"]}), 400, "expand[0]")
    fails(client.get(f"{INVOICES}/{inv['id']}", {"expand": ["nope"]}), 400, "expand[0]")
    assert get(client, inv["id"])["customer"] == customer  # expansion never changes the stored object


# -- idempotency and isolation ----------------------------------------------------------------------------------


def test_idempotency_replay_and_mismatch(client: InProcessClient, other: InProcessClient, customer: str) -> None:
    headers = {"idempotency-key": "create-once"}
    first = client.post(INVOICES, {"customer": customer}, headers=headers)
    again = client.post(INVOICES, {"customer": customer}, headers=headers)
    assert ok(first, "CreateInvoice") == ok(again, "CreateInvoice")
    assert again.headers.get("idempotent-replayed") == "true" and "idempotent-replayed" not in first.headers
    assert len(ok(client.get(INVOICES), "ListInvoices")["data"]) == 1
    fails(client.post(INVOICES, {"customer": customer, "description": "different"}, headers=headers), 400,
          type_="idempotency_error")
    # a failed request is replayed as it was, too
    bad = client.post(f"{INVOICES}/in_missing/finalize", {}, headers={"idempotency-key": "fail-once"})
    assert bad.status == 404 and client.post(f"{INVOICES}/in_missing/finalize", {},
                                             headers={"idempotency-key": "fail-once"}).body == bad.body
    # keys are per account: the same key elsewhere is a new request
    theirs = ok(other.post("/v1/customers", {}), "CreateCustomer")
    made = other.post(INVOICES, {"customer": theirs["id"]}, headers=headers)
    assert ok(made, "CreateInvoice")["id"] != first.body["id"] and "idempotent-replayed" not in made.headers


def test_isolation_between_keys(client: InProcessClient, other: InProcessClient, customer: str) -> None:
    inv = new_invoice(client, customer)
    fails(other.get(f"{INVOICES}/{inv['id']}"), 404, code="resource_missing")
    for action in ("finalize", "pay", "void", "add_lines"):
        fails(other.post(f"{INVOICES}/{inv['id']}/{action}", {"lines": [{"amount": 1}]} if action == "add_lines"
                         else {}), 404, code="resource_missing")
    fails(other.delete(f"{INVOICES}/{inv['id']}"), 404, code="resource_missing")
    assert ok(other.get(INVOICES), "ListInvoices")["data"] == []
    assert ok(other.get(f"{INVOICES}/search", {"query": 'status:"draft"'}), "SearchInvoices")["data"] == []
    fails(other.post(INVOICES, {"customer": customer}), 400, "customer", "resource_missing")
    fails(other.get(INVOICES, {"starting_after": inv["id"]}), 400, "starting_after")
    assert get(client, inv["id"])["status"] == "draft"


# -- regressions (bugs this file found in the mock) ---------------------------------------------------------------


def test_failed_attach_payment_leaves_a_draft_a_draft(client: InProcessClient, customer: str) -> None:
    """An intent larger than the draft's amount used to finalize the draft and then answer 400."""
    inv = new_invoice(client, customer, (1000,))
    before = get(client, inv["id"])
    fails(client.post(f"{INVOICES}/{inv['id']}/attach_payment",
                      {"payment_intent": succeeded_intent(client, 5000)["id"]}), 400, "payment_intent")
    assert get(client, inv["id"]) == before
    attached = ok(client.post(f"{INVOICES}/{inv['id']}/attach_payment",
                              {"payment_intent": succeeded_intent(client, 400)["id"]}), "AttachInvoicePayment")
    assert (attached["status"], attached["amount_remaining"]) == ("open", 600) and attached["number"]


def test_remove_lines_naming_a_line_twice_is_400(client: InProcessClient, customer: str) -> None:
    """`lines[0][id]=L&lines[1][id]=L` with behavior=delete used to be a 500 (KeyError on the deleted item)."""
    inv = new_invoice(client, customer, (1000, 5))
    line = inv["lines"]["data"][0]["id"]
    for behaviors in (("delete", "delete"), ("unassign", "delete"), ("unassign", "unassign")):
        fails(client.post(f"{INVOICES}/{inv['id']}/remove_lines",
                          {"lines": [{"id": line, "behavior": b} for b in behaviors]}), 400, "lines[1][id]")
    assert get(client, inv["id"]) == inv


def test_add_lines_with_one_pending_item_twice_is_400(client: InProcessClient, customer: str) -> None:
    """The same pending item twice in one add_lines used to make two lines with one ID and count it twice."""
    inv = new_invoice(client, customer, ())
    item = ok(client.post(ITEMS, {"customer": customer, "amount": 100}), "CreateInvoiceItem")
    fails(client.post(f"{INVOICES}/{inv['id']}/add_lines",
                      {"lines": [{"invoice_item": item["id"]}, {"invoice_item": item["id"]}]}), 400,
          "lines[1][invoice_item]")
    assert get(client, inv["id"]) == inv
    assert ok(client.get(f"{ITEMS}/{item['id']}"), "RetrieveInvoiceItem")["invoice"] is None
    added = ok(client.post(f"{INVOICES}/{inv['id']}/add_lines", {"lines": [{"invoice_item": item["id"]}]}),
               "AddInvoiceLines")
    assert added["subtotal"] == 100 and len(added["lines"]["data"]) == 1


def test_add_lines_refuses_a_pending_item_in_another_currency(client: InProcessClient, customer: str) -> None:
    inv = new_invoice(client, customer, (), currency="usd")
    euro = ok(client.post(ITEMS, {"customer": customer, "amount": 100, "currency": "eur"}), "CreateInvoiceItem")
    fails(client.post(f"{INVOICES}/{inv['id']}/add_lines", {"lines": [{"invoice_item": euro["id"]}]}), 400,
          "lines[0][invoice_item]")
    assert get(client, inv["id"])["subtotal"] == 0
