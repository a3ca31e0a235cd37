"""Invoice lifecycle as a state machine with a model: statuses, lines, amounts, numbers, payments, due dates.

The transition table is not stated here: every expectation comes from the rules table (`contracts/rules.yaml`,
rows `invoice.*`), the same rows the mock enforces. What each action does from each status, and in which
collection method, is `rules.decide(...)`; anything the table does not allow is a 400 that changes nothing.
Rows without a Stripe source are asserted against an external target only with `--unsourced-rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, rule, run_state_machine_as_test

from contracts.rules import DELETED, Decision, load_rules
from suites.checks import is_stripe_error, label_test
from suites.machines import ApiCalls, ApiMachine, expect

pytestmark = pytest.mark.lifecycle

RULES = load_rules()
METHODS = ("charge_automatically", "send_invoice")
# Line amounts from Stripe's minimum charge (50 cents): below it, finalizing marks an invoice paid at once
# (rule invoice.finalize.nothing_due), which the model only expects when nothing at all is due.
amounts = st.integers(min_value=50, max_value=50_000)


@dataclass
class InvoiceModel:
    id: str
    status: str = "draft"
    lines: dict[str, int] = field(default_factory=dict)  # line id -> amount
    amount_paid: int = 0
    finalized: bool = False
    deleted: bool = False
    description: str | None = None
    collection_method: str = "charge_automatically"

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
                     what=f"{_moving(action, inv.status, inv.collection_method)} is refused")

    def _decide(self, inv: InvoiceModel, action: str) -> Decision | None:
        """The table's answer for `action` on `inv`, or None when this run may not assert it (then the step is
        skipped: the model could not follow an answer it cannot predict)."""
        method = inv.collection_method if RULES.methods("invoice", action) else None
        decision = RULES.decide("invoice", action, inv.status, method)
        return decision if self.rule_gate is None or self.rule_gate.allows(decision.rules) else None

    # -- rules ------------------------------------------------------------------------------------------------

    @rule(target=invoices, description=st.none() | st.text(min_size=1, max_size=30), method=st.sampled_from(METHODS))
    def create(self, description: str | None, method: str) -> InvoiceModel:
        params = {"customer": self.customer, "currency": "usd", "collection_method": method}
        if description:
            params["description"] = description
        body = self.ok("CreateInvoice", params=params)
        inv = InvoiceModel(body["id"], description=description, collection_method=method)
        self.model[inv.id] = inv
        expect(body["status"] == "draft", "POST /v1/invoices", "a new invoice is a draft", f"got {body['status']}")
        return inv

    @rule(inv=invoices, lines=st.lists(amounts, min_size=1, max_size=3))
    def add_lines(self, inv: InvoiceModel, lines: list[int]) -> None:
        if inv.deleted:
            return
        params = {"lines": [{"amount": a, "description": f"line {n}"} for n, a in enumerate(lines)]}
        decision = self._decide(inv, "lines")
        if decision is None:
            return
        if not decision.legal:
            self._refuse(inv, "add_lines", params)
            return
        before = set(inv.lines)
        self.ok("AddInvoiceLines", {"invoice": inv.id}, params)
        all_lines = self._lines(inv)
        new = [line for line in all_lines if line["id"] not in before]
        expect(sorted(line["amount"] for line in new) == sorted(lines), "POST /v1/invoices/{invoice}/add_lines",
               "the added lines carry the amounts sent", f"sent {lines}, new lines {[x['amount'] for x in new]}")
        inv.lines.update({line["id"]: line["amount"] for line in new})
        # subtotal and the other amount relations are checked on every response (harness/invariants.py)

    @rule(inv=invoices, amount=amounts, data=st.data())
    def update_a_line(self, inv: InvoiceModel, amount: int, data: st.DataObject) -> None:
        if inv.deleted or not inv.lines:
            return
        line = data.draw(st.sampled_from(sorted(inv.lines)), label="line")
        params = {"lines": [{"id": line, "amount": amount}]}
        decision = self._decide(inv, "lines")
        if decision is None:
            return
        if not decision.legal:
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
        decision = self._decide(inv, "lines")
        if decision is None:
            return
        if not decision.legal:
            self._refuse(inv, "remove_lines", params)
            return
        self.ok("RemoveInvoiceLines", {"invoice": inv.id}, params)
        del inv.lines[line]

    @rule(inv=invoices)
    def finalize(self, inv: InvoiceModel) -> None:
        decision = None if inv.deleted else self._decide(inv, "finalize")
        if decision is None:
            return
        if not decision.legal:
            self._refuse(inv, "finalize")
            return
        self._after_finalize(inv, self.ok("FinalizeInvoice", {"invoice": inv.id}))

    @rule(inv=invoices, out_of_band=st.booleans())
    def pay(self, inv: InvoiceModel, out_of_band: bool) -> None:
        decision = None if inv.deleted else self._decide(inv, "pay")
        if decision is None:
            return
        params = {"paid_out_of_band": True} if out_of_band else {"payment_method": "pm_card_visa"}
        if not decision.legal:
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
        decision = None if inv.deleted else self._decide(inv, "send")
        if decision is None:
            return
        if not decision.legal:
            self._refuse(inv, "send")
            return
        body = self.ok("SendInvoice", {"invoice": inv.id}, what=f"send on a {inv.status} send_invoice invoice")
        if inv.status == "draft":
            self._after_finalize(inv, body)
        else:
            expect(body["status"] == inv.status, "POST /v1/invoices/{invoice}/send",
                   f"sending a {inv.status} invoice leaves it {inv.status}", f"status {body['status']}")

    @rule(inv=invoices)
    def void(self, inv: InvoiceModel) -> None:
        decision = None if inv.deleted else self._decide(inv, "void")
        if decision is None:
            return
        if not decision.legal:
            self._refuse(inv, "void")
            return
        self.ok("VoidInvoice", {"invoice": inv.id})
        inv.status = decision.result or inv.status

    @rule(inv=invoices)
    def mark_uncollectible(self, inv: InvoiceModel) -> None:
        decision = None if inv.deleted else self._decide(inv, "mark_uncollectible")
        if decision is None:
            return
        if not decision.legal:
            self._refuse(inv, "mark_uncollectible")
            return
        self.ok("MarkInvoiceUncollectible", {"invoice": inv.id})
        inv.status = decision.result or inv.status

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
        """Drafts switch freely (due_date follows: rules invoice.due_date.*); finalized invoices refuse it."""
        if inv.deleted:
            return
        other = METHODS[1 - METHODS.index(inv.collection_method)]
        params = {"collection_method": other, **({"days_until_due": 30} if other == "send_invoice" else {})}
        if inv.status != "draft":
            locked = RULES["invoice.update.finalized"]
            if self.rule_gate is None or self.rule_gate.allows(locked):
                self._refuse(inv, "update", params)
            return
        body = self.ok("UpdateInvoice", {"invoice": inv.id}, params, what="a draft's collection_method can change")
        inv.collection_method = other
        expect((body["due_date"] is not None) == (other == "send_invoice"), "POST /v1/invoices/{invoice}",
               "due_date is set exactly on send_invoice invoices (null on charge_automatically ones)",
               f"collection_method {other}, due_date {body['due_date']!r}")

    @rule(inv=invoices)
    def delete(self, inv: InvoiceModel) -> None:
        if inv.deleted:
            resp = self.send("RetrieveInvoice", {"invoice": inv.id})
            expect(resp.status == 404, "DELETE /v1/invoices/{invoice}", "a deleted invoice stays gone (404)",
                   f"GET after DELETE gave {resp.status}", resp)
            return
        decision = self._decide(inv, "delete")
        if decision is None:
            return
        if not decision.legal:
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
            expect(body["subtotal"] == inv.subtotal, label, "subtotal is the sum of all the model's line amounts",
                   f"subtotal {body['subtotal']}, model {inv.subtotal}")
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


def test_invoice_lifecycle_matches_the_model(api, contract, world, profile, rules):
    label_test(contract["FinalizeInvoice"], "lifecycle", severity="critical",
               title="Invoices: every sequence of actions keeps the server equal to the model")
    machine = InvoiceLifecycle.bind(api, contract, world, rules)
    run_state_machine_as_test(machine, settings=settings(max_examples=profile.machines,
                                                         stateful_step_count=profile.steps))


# -- the transition table, exhaustively: every action from every state, in both collection methods ------------------

STATES = ("draft", "open", "paid", "void", "uncollectible")
STATE_KINDS = {"draft": "invoice:draft_with_lines", "open": "invoice:open", "paid": "invoice:paid",
               "void": "invoice:void", "uncollectible": "invoice:uncollectible"}
ACTION_OPS = {"finalize": "finalize", "pay": "pay", "send": "send", "void": "void",
              "mark_uncollectible": "mark_uncollectible", "delete": "delete", "lines": "add_lines"}
ACTION_PARAMS = {"pay": {"paid_out_of_band": True}, "lines": {"lines": [{"amount": 500, "description": "late"}]}}


def _kind(state: str, method: str) -> str:
    return STATE_KINDS[state] + (":send_invoice" if method == "send_invoice" else "")


def _moving(action: str, status: str, method: str) -> str:
    """``"void on a draft invoice"``: the move a check names, with the collection method only where the rules
    table makes the action depend on it (send), so one wrong transition is one finding, not one per method."""
    rule = RULES.methods("invoice", action)
    where = f"{status} {method}" if rule and set(METHODS) - set(rule.data["collection_methods"]) else status
    return f"{action} on a {where} invoice"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("action", RULES.actions("invoice"))
@pytest.mark.parametrize("state", STATES)
def test_every_transition_follows_the_table(state, action, method, api, contract, world, rules):
    """Legal transitions land in the status the rules table gives, with consistent amounts; the others are a 400
    that changes nothing."""
    decision = rules.decide("invoice", action, state, method if RULES.methods("invoice", action) else None)
    op_id = _OPS[ACTION_OPS[action]]
    op = contract[op_id]
    label_test(op, "lifecycle", severity="critical",
               title=f"{action} on a {state} {method} invoice is {'allowed' if decision.legal else 'refused'} "
                     f"({', '.join(r.id for r in decision.rules)})")
    rules.require(decision.rules)
    calls = ApiCalls(api, contract)
    inv = world.fresh(_kind(state, method))
    params = ACTION_PARAMS.get(action, {})
    if not decision.legal:
        calls.refused(op_id, {"invoice": inv["id"]}, params, read=("RetrieveInvoice", {"invoice": inv["id"]}),
                      what=f"{_moving(action, state, method)} is refused")
        return
    body = calls.ok(op_id, {"invoice": inv["id"]}, params, what=f"{_moving(action, state, method)} is allowed")
    expected = decision.result
    if expected == DELETED:
        retrieve = contract["RetrieveInvoice"]
        is_stripe_error(retrieve, api.get(f"/v1/invoices/{inv['id']}"), status=404,
                        what="a deleted object is gone (404)")  # the deletion suite's check: one finding
        return
    after = api.get(f"/v1/invoices/{inv['id']}").json
    for view, where in ((body, "the answer"), (after, "a later read")):
        expect(view["status"] == expected, op.label, f"{action} on a {state} invoice gives {expected} ({where})",
               f"status {view['status']!r}")
        expect(bool(view["number"]) == (expected != "draft"), op.label,
               f"finalized invoices have a number, drafts none ({where})", f"number {view['number']!r}")
    if expected == "paid":
        payments = api.get("/v1/invoice_payments", {"invoice": inv["id"]}).json["data"]
        expect(after["amount_due"] == 0 or any(p["status"] == "paid" for p in payments), op.label,
               "paying records an invoice payment with status paid", f"payments: {payments}")


def test_a_declined_payment_leaves_the_invoice_open(api, contract, world, rules):
    """Paying with a declining card is a 402 card_error, and the invoice stays open with nothing paid."""
    op = contract["PayInvoice"]
    label_test(op, "lifecycle", severity="critical", title="a declined payment leaves the invoice open")
    rules.require(RULES["invoice.pay.declined"])
    inv = world.fresh("invoice:open")
    resp = api.post(f"/v1/invoices/{inv['id']}/pay", {"payment_method": "pm_card_chargeDeclined"})
    is_stripe_error(op, resp, status=402, error_type="card_error", what="a declined payment is refused")
    after = api.get(f"/v1/invoices/{inv['id']}").json
    expect(after["status"] == "open" and after["amount_paid"] == 0, op.label,
           "a failed payment leaves the invoice open", f"status {after['status']}, paid {after['amount_paid']}")


# -- parameter rules: what the rules table forbids in a state is refused (400 naming it) and changes nothing -------

DUE_DATE = 1_900_000_000  # 2030: a due date in the future
PARAM_VALUES = {"due_date": DUE_DATE, "days_until_due": 30, "collection_method": "send_invoice"}
# rule -> the world kind of an invoice where the rule's `when` does not hold
PARAM_RULE_STATES = {"invoice.due_date.send_invoice_only": "invoice:draft",
                     "invoice.update.finalized": "invoice:open"}
PARAM_CASES = [(rule.id, op, param) for rule in RULES.of_kind("param_rule") for op in rule.data["operations"]
               for param in rule.data["params"]]


@pytest.mark.parametrize(("rule_id", "op_id", "param"), PARAM_CASES)
def test_parameter_rules_refuse_what_they_forbid(rule_id, op_id, param, api, contract, world, rules):
    """`due_date` / `days_until_due` on a charge_automatically invoice (create or update), and monetary fields or
    collection_method on a finalized one, are a 400 naming the parameter that changes nothing."""
    rule = RULES[rule_id]
    op = contract[op_id]
    label_test(op, "lifecycle", severity="critical", title=f"{param} is refused where {rule_id} forbids it")
    rules.require(rule)
    calls = ApiCalls(api, contract)
    params = {param: PARAM_VALUES[param]}
    if op_id == "CreateInvoice":  # the default collection method is charge_automatically
        resp = calls.send(op_id, params={"customer": world.shared("customer")["id"], **params})
        is_stripe_error(op, resp, param=param, what=f"{param} on a new charge_automatically invoice is refused")
        return
    inv = world.fresh(PARAM_RULE_STATES[rule_id])
    calls.refused(op_id, {"invoice": inv["id"]}, params, read=("RetrieveInvoice", {"invoice": inv["id"]}),
                  what=f"{param} on a {inv['status']} {inv['collection_method']} invoice is refused")
