"""Invoice lifecycle (DESIGN §5) as a state machine with a model: statuses, lines, amounts, numbers, payments.

Legal: draft -> deleted | open (finalize; paid at once when nothing is due); open -> paid | open (send) | void |
uncollectible; uncollectible -> paid | void. Pay and send on a draft finalize it first. Only drafts take line
changes; finalized invoices keep their monetary fields. Everything else is a 400 that changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, rule, run_state_machine_as_test

from suites.checks import is_stripe_error, label_test
from suites.machines import ApiCalls, ApiMachine, expect

pytestmark = pytest.mark.lifecycle

FINAL = {"paid", "void"}
TRANSITIONS = {  # action -> statuses it is legal from
    "finalize": {"draft"}, "pay": {"draft", "open", "uncollectible"}, "send": {"draft", "open"},
    "void": {"open", "uncollectible"}, "mark_uncollectible": {"open"}, "delete": {"draft"},
}
amounts = st.integers(min_value=1, max_value=50_000)


@dataclass
class InvoiceModel:
    id: str
    status: str = "draft"
    lines: dict[str, int] = field(default_factory=dict)  # line id -> amount
    amount_paid: int = 0
    finalized: bool = False
    deleted: bool = False
    description: str | None = None

    @property
    def subtotal(self) -> int:
        return sum(self.lines.values())

    @property
    def amount_due(self) -> int:
        return max(self.subtotal, 0)


class InvoiceLifecycle(ApiMachine):
    invoices = Bundle("invoices")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, InvoiceModel] = {}
        self.customer = self.world.shared("customer")["id"]

    # -- helpers ----------------------------------------------------------------------------------------------

    def _read(self, inv: InvoiceModel) -> tuple[str, dict[str, str]]:
        return "RetrieveInvoice", {"invoice": inv.id}

    def _after_finalize(self, inv: InvoiceModel, body: dict) -> None:
        inv.finalized = True
        inv.status = "paid" if inv.amount_due == 0 else "open"
        expect(body["status"] == inv.status, "POST /v1/invoices/{invoice}/finalize",
               "finalizing gives open, or paid when nothing is due", f"status {body['status']}, model {inv.status}")

    def _refuse(self, inv: InvoiceModel, action: str, params: dict | None = None) -> None:
        self.refused(_OPS[action], {"invoice": inv.id}, params, read=self._read(inv),
                     what=f"{action} on a {inv.status} invoice is refused")

    # -- rules ------------------------------------------------------------------------------------------------

    @rule(target=invoices, description=st.none() | st.text(min_size=1, max_size=30))
    def create(self, description: str | None) -> InvoiceModel:
        params = {"customer": self.customer, "currency": "usd"}
        if description:
            params["description"] = description
        body = self.ok("CreateInvoice", params=params)
        inv = InvoiceModel(body["id"], description=description)
        self.model[inv.id] = inv
        expect(body["status"] == "draft", "POST /v1/invoices", "a new invoice is a draft", f"got {body['status']}")
        return inv

    @rule(inv=invoices, lines=st.lists(amounts, min_size=1, max_size=3))
    def add_lines(self, inv: InvoiceModel, lines: list[int]) -> None:
        if inv.deleted:
            return
        params = {"lines": [{"amount": a, "description": f"line {n}"} for n, a in enumerate(lines)]}
        if inv.status != "draft":
            self._refuse(inv, "add_lines", params)
            return
        before = set(inv.lines)
        body = self.ok("AddInvoiceLines", {"invoice": inv.id}, params)
        all_lines = self._lines(inv)
        new = [line for line in all_lines if line["id"] not in before]
        expect(sorted(line["amount"] for line in new) == sorted(lines), "POST /v1/invoices/{invoice}/add_lines",
               "the added lines carry the amounts sent", f"sent {lines}, new lines {[x['amount'] for x in new]}")
        inv.lines.update({line["id"]: line["amount"] for line in new})
        expect(body["subtotal"] == inv.subtotal, "POST /v1/invoices/{invoice}/add_lines",
               "subtotal is the sum of line amounts", f"subtotal {body['subtotal']}, lines sum {inv.subtotal}")

    @rule(inv=invoices, amount=amounts, data=st.data())
    def update_a_line(self, inv: InvoiceModel, amount: int, data: st.DataObject) -> None:
        if inv.deleted or not inv.lines:
            return
        line = data.draw(st.sampled_from(sorted(inv.lines)), label="line")
        params = {"lines": [{"id": line, "amount": amount}]}
        if inv.status != "draft":
            self._refuse(inv, "update_lines", params)
            return
        self.ok("UpdateInvoiceLines", {"invoice": inv.id}, params)
        inv.lines[line] = amount

    @rule(inv=invoices, data=st.data())
    def remove_a_line(self, inv: InvoiceModel, data: st.DataObject) -> None:
        if inv.deleted or not inv.lines:
            return
        line = data.draw(st.sampled_from(sorted(inv.lines)), label="line")
        params = {"lines": [{"id": line, "behavior": "delete"}]}
        if inv.status != "draft":
            self._refuse(inv, "remove_lines", params)
            return
        self.ok("RemoveInvoiceLines", {"invoice": inv.id}, params)
        del inv.lines[line]

    @rule(inv=invoices)
    def finalize(self, inv: InvoiceModel) -> None:
        if inv.deleted:
            return
        if inv.status != "draft":
            self._refuse(inv, "finalize")
            return
        self._after_finalize(inv, self.ok("FinalizeInvoice", {"invoice": inv.id}))

    @rule(inv=invoices, out_of_band=st.booleans())
    def pay(self, inv: InvoiceModel, out_of_band: bool) -> None:
        if inv.deleted:
            return
        params = {"paid_out_of_band": True} if out_of_band else {"payment_method": "pm_card_visa"}
        if inv.status not in TRANSITIONS["pay"]:
            self._refuse(inv, "pay", params)
            return
        body = self.ok("PayInvoice", {"invoice": inv.id}, params)
        if inv.status == "draft":
            inv.finalized = True
        inv.status = "paid"
        inv.amount_paid = inv.amount_due
        expect(body["status"] == "paid", "POST /v1/invoices/{invoice}/pay", "pay makes the invoice paid",
               f"status {body['status']}")

    @rule(inv=invoices)
    def pay_with_a_declining_card(self, inv: InvoiceModel) -> None:
        if inv.deleted or inv.status not in ("open", "uncollectible") or inv.amount_due == 0:
            return
        before = inv.status
        resp = self.send("PayInvoice", {"invoice": inv.id}, {"payment_method": "pm_card_chargeDeclined"})
        expect(resp.status == 402 and resp.json.get("error", {}).get("type") == "card_error",
               "POST /v1/invoices/{invoice}/pay", "a declined payment is a 402 card_error", f"got {resp.status}", resp)
        body = self.ok("RetrieveInvoice", {"invoice": inv.id})
        expect(body["status"] == before and body["amount_paid"] == inv.amount_paid, "POST /v1/invoices/{invoice}/pay",
               "a failed payment leaves the invoice as it was", f"status {body['status']}, paid {body['amount_paid']}")

    @rule(inv=invoices)
    def send_invoice(self, inv: InvoiceModel) -> None:
        if inv.deleted:
            return
        if inv.status not in TRANSITIONS["send"]:
            self._refuse(inv, "send")
            return
        body = self.ok("SendInvoice", {"invoice": inv.id})
        if inv.status == "draft":
            self._after_finalize(inv, body)

    @rule(inv=invoices)
    def void(self, inv: InvoiceModel) -> None:
        if inv.deleted:
            return
        if inv.status not in TRANSITIONS["void"]:
            self._refuse(inv, "void")
            return
        self.ok("VoidInvoice", {"invoice": inv.id})
        inv.status = "void"

    @rule(inv=invoices)
    def mark_uncollectible(self, inv: InvoiceModel) -> None:
        if inv.deleted:
            return
        if inv.status not in TRANSITIONS["mark_uncollectible"]:
            self._refuse(inv, "mark_uncollectible")
            return
        self.ok("MarkInvoiceUncollectible", {"invoice": inv.id})
        inv.status = "uncollectible"

    @rule(inv=invoices, text=st.text(min_size=1, max_size=40))
    def update_description(self, inv: InvoiceModel, text: str) -> None:
        if inv.deleted:
            return
        body = self.ok("UpdateInvoice", {"invoice": inv.id}, {"description": text},
                       what="the description can change in every state")
        inv.description = text
        expect(body["description"] == text, "POST /v1/invoices/{invoice}", "an update is applied",
               f"description {body['description']!r}, sent {text!r}")

    @rule(inv=invoices)
    def change_collection_method(self, inv: InvoiceModel) -> None:
        if inv.deleted or inv.status == "draft":
            return
        self._refuse(inv, "update", {"collection_method": "send_invoice", "days_until_due": 30})

    @rule(inv=invoices)
    def delete(self, inv: InvoiceModel) -> None:
        if inv.deleted:
            resp = self.send("RetrieveInvoice", {"invoice": inv.id})
            expect(resp.status == 404, "DELETE /v1/invoices/{invoice}", "a deleted invoice stays gone (404)",
                   f"GET after DELETE gave {resp.status}", resp)
            return
        if inv.status != "draft":
            self._refuse(inv, "delete")
            return
        body = self.ok("DeleteInvoice", {"invoice": inv.id})
        expect(body.get("deleted") is True and body.get("id") == inv.id, "DELETE /v1/invoices/{invoice}",
               "deletion answers {id, object, deleted: true}", str(body))
        inv.deleted = True

    # -- the model must match the server after every step ------------------------------------------------------

    def _lines(self, inv: InvoiceModel) -> list[dict]:
        return self.ok("ListInvoiceLines", {"invoice": inv.id}, {"limit": 100})["data"]

    @invariant()
    def server_matches_model(self) -> None:
        for inv in self.model.values():
            if inv.deleted:
                continue
            body = self.ok("RetrieveInvoice", {"invoice": inv.id}, what="the invoice can be read")
            label = f"invoice {inv.id}"
            expect(body["status"] == inv.status, label, "the status follows the transition table",
                   f"server {body['status']!r}, model {inv.status!r}")
            lines = self._lines(inv)
            expect({line["id"]: line["amount"] for line in lines} == inv.lines, label,
                   "the lines are the ones added, updated and not removed",
                   f"server {[(x['id'], x['amount']) for x in lines]}, model {inv.lines}")
            expect(body["subtotal"] == sum(line["amount"] for line in lines), label,
                   "subtotal is the sum of line amounts", f"subtotal {body['subtotal']}")
            expect(body["amount_remaining"] == body["amount_due"] - body["amount_paid"], label,
                   "amount_remaining = amount_due - amount_paid",
                   f"{body['amount_remaining']} != {body['amount_due']} - {body['amount_paid']}")
            expect(body["amount_due"] == inv.amount_due and body["amount_paid"] == inv.amount_paid, label,
                   "amount_due and amount_paid follow the lines and payments",
                   f"server due/paid {body['amount_due']}/{body['amount_paid']}, "
                   f"model {inv.amount_due}/{inv.amount_paid}")
            expect(bool(body["number"]) == inv.finalized, label, "a finalized invoice has a number (a draft none)",
                   f"number {body['number']!r}, finalized={inv.finalized}")
            transitions = body["status_transitions"]
            expect((transitions["finalized_at"] is not None) == inv.finalized, label,
                   "status_transitions.finalized_at is set exactly when finalized", str(transitions))
            for status, key in (("paid", "paid_at"), ("void", "voided_at"),
                                ("uncollectible", "marked_uncollectible_at")):
                if inv.status == status:
                    expect(transitions[key] is not None, label, f"status_transitions.{key} is set when {status}",
                           str(transitions))
            if inv.description is not None:
                expect(body["description"] == inv.description, label, "updates stick (read-after-write)",
                       f"description {body['description']!r}, model {inv.description!r}")
            if inv.status == "paid" and inv.amount_paid > 0:
                payments = self.ok("ListInvoicePayments", params={"invoice": inv.id})["data"]
                paid = [p for p in payments if p["status"] == "paid"]
                expect(sum(p["amount_paid"] or 0 for p in paid) == inv.amount_paid, label,
                       "a paid invoice has invoice payments with status paid covering amount_paid",
                       f"payments {[(p['id'], p['status'], p['amount_paid']) for p in payments]}")


_OPS = {"finalize": "FinalizeInvoice", "pay": "PayInvoice", "send": "SendInvoice", "void": "VoidInvoice",
        "mark_uncollectible": "MarkInvoiceUncollectible", "delete": "DeleteInvoice", "add_lines": "AddInvoiceLines",
        "update_lines": "UpdateInvoiceLines", "remove_lines": "RemoveInvoiceLines", "update": "UpdateInvoice"}


def test_invoice_lifecycle_matches_the_model(api, contract, world, profile):
    label_test(contract["FinalizeInvoice"], "lifecycle", severity="critical",
               title="Invoices: every sequence of actions keeps the server equal to the model")
    machine = InvoiceLifecycle.bind(api, contract, world)
    run_state_machine_as_test(machine, settings=settings(max_examples=profile.machines,
                                                         stateful_step_count=profile.steps))


# -- the transition table, exhaustively: every action from every state --------------------------------------------

STATE_KINDS = {"draft": "invoice:draft_with_lines", "open": "invoice:open", "paid": "invoice:paid",
               "void": "invoice:void", "uncollectible": "invoice:uncollectible"}
ACTION_PARAMS = {"finalize": {}, "pay": {"paid_out_of_band": True}, "send": {}, "void": {}, "mark_uncollectible": {},
                 "delete": {}, "add_lines": {"lines": [{"amount": 500, "description": "late"}]}}
# (state, action) -> resulting status; absent: illegal (a 400 that changes nothing)
LEGAL = {
    ("draft", "finalize"): "open", ("draft", "pay"): "paid", ("draft", "send"): "open", ("draft", "delete"): None,
    ("draft", "add_lines"): "draft",
    ("open", "pay"): "paid", ("open", "send"): "open", ("open", "void"): "void",
    ("open", "mark_uncollectible"): "uncollectible",
    ("uncollectible", "pay"): "paid", ("uncollectible", "void"): "void",
}


@pytest.mark.parametrize("action", sorted(ACTION_PARAMS))
@pytest.mark.parametrize("state", sorted(STATE_KINDS))
def test_every_transition_follows_the_table(state, action, api, contract, world):
    """Legal transitions land in the documented state with consistent amounts; the others are a 400 that
    changes nothing."""
    op_id = _OPS[action]
    op = contract[op_id]
    legal = (state, action) in LEGAL
    label_test(op, "lifecycle", severity="critical",
               title=f"{action} on a {state} invoice is {'allowed' if legal else 'refused'}")
    calls = ApiCalls(api, contract)
    inv = world.fresh(STATE_KINDS[state])
    params = ACTION_PARAMS[action]
    if not legal:
        calls.refused(op_id, {"invoice": inv["id"]}, params, read=("RetrieveInvoice", {"invoice": inv["id"]}),
                      what=f"{action} on a {state} invoice is refused")
        return
    body = calls.ok(op_id, {"invoice": inv["id"]}, params, what=f"{action} on a {state} invoice is allowed")
    expected = LEGAL[(state, action)]
    if expected is None:  # deleted
        resp = api.get(f"/v1/invoices/{inv['id']}")
        expect(resp.status == 404, op.label, "a deleted invoice is gone", f"GET gave {resp.status}", resp)
        return
    after = api.get(f"/v1/invoices/{inv['id']}").json
    for view, where in ((body, "the answer"), (after, "a later read")):
        expect(view["status"] == expected, op.label, f"{action} on a {state} invoice gives {expected} ({where})",
               f"status {view['status']!r}")
        expect(view["amount_remaining"] == view["amount_due"] - view["amount_paid"], op.label,
               f"amount_remaining = amount_due - amount_paid ({where})",
               f"{view['amount_remaining']} != {view['amount_due']} - {view['amount_paid']}")
        expect(bool(view["number"]) == (expected != "draft"), op.label,
               f"finalized invoices have a number, drafts none ({where})", f"number {view['number']!r}")
    if expected == "paid":
        expect(after["amount_paid"] == after["amount_due"] and after["amount_remaining"] == 0, op.label,
               "a paid invoice has amount_paid = amount_due", f"paid {after['amount_paid']}, due {after['amount_due']}")
        payments = api.get("/v1/invoice_payments", {"invoice": inv["id"]}).json["data"]
        expect(after["amount_due"] == 0 or any(p["status"] == "paid" for p in payments), op.label,
               "paying records an invoice payment with status paid", f"payments: {payments}")


def test_a_declined_payment_leaves_the_invoice_open(api, contract, world):
    """Paying with a declining card is a 402 card_error, and the invoice stays open with nothing paid."""
    op = contract["PayInvoice"]
    label_test(op, "lifecycle", severity="critical", title="a declined payment leaves the invoice open")
    inv = world.fresh("invoice:open")
    resp = api.post(f"/v1/invoices/{inv['id']}/pay", {"payment_method": "pm_card_chargeDeclined"})
    is_stripe_error(op, resp, status=402, error_type="card_error", what="a declined payment is refused")
    after = api.get(f"/v1/invoices/{inv['id']}").json
    expect(after["status"] == "open" and after["amount_paid"] == 0, op.label,
           "a failed payment leaves the invoice open", f"status {after['status']}, paid {after['amount_paid']}")
