"""Invoice lifecycle as a state machine with a model: statuses, lines, amounts, numbers, payments, due dates.

The transition table is not stated here: every expectation comes from the rules table (`contracts/rules.yaml`,
rows `invoice.*`), the same rows the mock enforces. What each action does from each status, and in which
collection method, is `rules.decide(...)`; anything the table does not allow is a 400 that changes nothing.
Rows without a Stripe source are asserted against an external target only with `--unsourced-rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
)

from contracts.rules import DELETED, Decision, load_rules
from harness.checks import is_stripe_error, label_test
from suites.machines import ApiCalls, ApiMachine, Read, expect, read_back, run_machine

pytestmark = pytest.mark.lifecycle

RULES = load_rules()
METHODS = ("charge_automatically", "send_invoice")
# Every status the table knows, in table order (draft, open, paid, uncollectible, void).
STATES = tuple(RULES.statuses("invoice"))
# A draft finalized with nothing due is paid at once, not open (rule invoice.finalize.nothing_due).
NOTHING_DUE = RULES["invoice.finalize.nothing_due"]
DECLINED = RULES["invoice.pay.declined"]
# Line amounts from Stripe's minimum charge (50 cents): below it, finalizing marks an invoice paid at once
# (rule invoice.finalize.nothing_due), which the model only expects when nothing at all is due.
amounts = st.integers(min_value=50, max_value=50_000)


def operation(action: str) -> str:
    """The operation that performs a transition-table action (the row's `operation`: finalize -> FinalizeInvoice)."""
    return RULES.transition("invoice", action).data["operation"]


def decide(action: str, status: str, collection_method: str) -> Decision:
    """The table's answer for `action` on an invoice in `status`: the collection method counts only for actions
    the table constrains by it (rows `invoice.*.collection_method`)."""
    return RULES.decide("invoice", action, status,
                        collection_method if RULES.methods("invoice", action) else None)


def status_after(decision: Decision, status: str, amount_due: int) -> str:
    """The status a legal move leaves: the table's result, except that a draft finalized on the way with nothing
    due (amount_due 0, cents) is paid at once (rule invoice.finalize.nothing_due)."""
    assert decision.result is not None, "status_after is for legal moves"
    if status == "draft" and decision.result == "open" and amount_due == 0:
        return NOTHING_DUE.data["status"]
    return decision.result


REFUSED = "{action} is refused where the transition table does not allow it"
"""The check of every illegal move: one finding per action whatever status shows it (the status and collection
method of the case go into the detail, see `moving`)."""


def moving(action: str, status: str, method: str, name: str | None = None) -> str:
    """``"void on a draft invoice"``: the move a check names (`name`, the action by default), with the collection
    method only where the rules table makes the action depend on it (send), so one wrong transition is one finding,
    not one per method."""
    rule = RULES.methods("invoice", action)
    where = f"{status} {method}" if rule and set(METHODS) - set(rule.data["collection_methods"]) else status
    return f"{name or action} on a {where} invoice"


@dataclass
class InvoiceModel:
    id: str
    status: str = "draft"
    lines: dict[str, int] = field(default_factory=dict)  # line id -> amount
    amount_paid: int = 0
    finalized: bool = False
    description: str | None = None
    collection_method: str = "charge_automatically"

    @property
    def subtotal(self) -> int:
        return sum(self.lines.values())

    @property
    def amount_due(self) -> int:
        return max(self.subtotal, 0)


class InvoiceLifecycle(ApiMachine):
    """Invoices in every status; a deleted invoice leaves the `invoices` bundle (it is used up) and joins `gone`."""

    invoices = Bundle("invoices")

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # ApiMachine's (api, contract, world, rule_gate)
        super().__init__(*args, **kwargs)
        self.model: dict[str, InvoiceModel] = {}  # the invoices that exist
        self.gone: list[str] = []  # ids of deleted invoices
        self.customer = self.world.shared("customer")["id"]

    # -- helpers ----------------------------------------------------------------------------------------------

    def _read(self, inv: InvoiceModel) -> tuple[str, dict[str, str]]:
        return "RetrieveInvoice", {"invoice": inv.id}

    def _refuse(self, inv: InvoiceModel, operation_id: str, action: str, params: dict | None = None,
                name: str | None = None) -> None:
        self.refused(operation_id, {"invoice": inv.id}, params, read=self._read(inv),
                     what=REFUSED.format(action=name or action),
                     context=moving(action, inv.status, inv.collection_method, name))

    def _act(self, inv: InvoiceModel, action: str, params: dict | None = None, *,
             operation_id: str | None = None, name: str | None = None) -> dict | None:
        """Take the table's `action` through `operation_id` (the row's operation by default; `name` in messages):
        refused when the table says so, else applied to the model. The answer, or None when refused or not
        asserted on this target."""
        operation_id = operation_id or operation(action)
        decision = self.asserts(decide(action, inv.status, inv.collection_method))
        if decision is None:
            return None
        if not decision.legal:
            self._refuse(inv, operation_id, action, params, name)
            return None
        body = self.ok(operation_id, {"invoice": inv.id}, params,
                       what=f"{moving(action, inv.status, inv.collection_method, name)} is allowed")
        if decision.result == DELETED:
            expect(body.get("deleted") is True and body.get("id") == inv.id, "DELETE /v1/invoices/{invoice}",
                   "deletion answers {id, object, deleted: true}", str(body))
            del self.model[inv.id]
            self.gone.append(inv.id)
            return body
        before, inv.status = inv.status, status_after(decision, inv.status, inv.amount_due)
        inv.finalized = inv.finalized or inv.status != "draft"
        if inv.status == "paid":
            inv.amount_paid = inv.amount_due
        expect(body["status"] == inv.status, self.contract[operation_id].label,
               f"{moving(action, before, inv.collection_method, name)} gives {inv.status} (the answer)",
               f"status {body['status']!r}")
        return body

    # Candidates are listed in creation order, never sorted by ID: the server picks the IDs, so an order by ID would
    # differ between Hypothesis's replays of one sequence, and the same draw would pick another invoice or line.

    # The preconditions are these methods, not lambdas: Hypothesis describes a lambda (in the rule's repr) by
    # parsing the source file around it, which every pytest-xdist worker pays again.

    def _with_lines(self) -> list[str]:
        return [i for i, inv in self.model.items() if inv.lines]

    def _has_deleted(self) -> bool:
        return bool(self.gone)

    def _declinable(self) -> list[str]:
        """Invoices a declined card can fail to pay (rule invoice.pay.declined, when this run asserts it): something
        due, in a status pay accepts besides draft."""
        if self.rule_gate is not None and not self.rule_gate.allows(DECLINED):
            return []
        payable = RULES.legal_from("invoice", "pay") - {"draft"}
        return [i for i, inv in self.model.items() if inv.status in payable and inv.amount_due > 0]

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
        params = {"lines": [{"amount": a, "description": f"line {n}"} for n, a in enumerate(lines)]}
        before = set(inv.lines)
        if self._act(inv, "lines", params, operation_id="AddInvoiceLines", name="add_lines") is None:
            return
        new = [line for line in self._lines(inv) if line["id"] not in before]
        expect(sorted(line["amount"] for line in new) == sorted(lines), "POST /v1/invoices/{invoice}/add_lines",
               "the added lines carry the amounts sent", f"sent {lines}, new lines {[x['amount'] for x in new]}")
        inv.lines.update({line["id"]: line["amount"] for line in new})
        # subtotal and the other amount relations are checked on every response (harness/invariants.py)

    @precondition(_with_lines)
    @rule(amount=amounts, data=st.data())
    def update_a_line(self, amount: int, data: st.DataObject) -> None:
        inv = self.model[data.draw(st.sampled_from(self._with_lines()), label="invoice")]
        line = data.draw(st.sampled_from(list(inv.lines)), label="line")
        if self._act(inv, "lines", {"lines": [{"id": line, "amount": amount}]},
                     operation_id="UpdateInvoiceLines", name="update_lines") is not None:
            inv.lines[line] = amount

    @precondition(_with_lines)
    @rule(data=st.data())
    def remove_a_line(self, data: st.DataObject) -> None:
        inv = self.model[data.draw(st.sampled_from(self._with_lines()), label="invoice")]
        line = data.draw(st.sampled_from(list(inv.lines)), label="line")
        if self._act(inv, "lines", {"lines": [{"id": line, "behavior": "delete"}]},
                     operation_id="RemoveInvoiceLines", name="remove_lines") is not None:
            del inv.lines[line]

    @rule(inv=invoices)
    def finalize(self, inv: InvoiceModel) -> None:
        self._act(inv, "finalize")

    @rule(inv=invoices, out_of_band=st.booleans())
    def pay(self, inv: InvoiceModel, out_of_band: bool) -> None:
        self._act(inv, "pay", {"paid_out_of_band": True} if out_of_band else {"payment_method": "pm_card_visa"})

    @precondition(_declinable)
    @rule(data=st.data())
    def pay_with_a_declining_card(self, data: st.DataObject) -> None:
        inv = self.model[data.draw(st.sampled_from(self._declinable()), label="invoice")]
        before = inv.status
        resp = self.send("PayInvoice", {"invoice": inv.id}, {"payment_method": "pm_card_chargeDeclined"})
        expect(resp.status == 402 and resp.json.get("error", {}).get("type") == "card_error",
               "POST /v1/invoices/{invoice}/pay", "a declined payment is a 402 card_error", f"got {resp.status}", resp)
        body = self.ok("RetrieveInvoice", {"invoice": inv.id})
        expect(body["status"] == before and body["amount_paid"] == inv.amount_paid, "POST /v1/invoices/{invoice}/pay",
               "a failed payment leaves the invoice as it was", f"status {body['status']}, paid {body['amount_paid']}")

    @rule(inv=invoices)
    def send_invoice(self, inv: InvoiceModel) -> None:
        self._act(inv, "send")

    @rule(inv=invoices)
    def void(self, inv: InvoiceModel) -> None:
        self._act(inv, "void")

    @rule(inv=invoices)
    def mark_uncollectible(self, inv: InvoiceModel) -> None:
        self._act(inv, "mark_uncollectible")

    @rule(inv=invoices, text=st.text(min_size=1, max_size=40))
    def update_description(self, inv: InvoiceModel, text: str) -> None:
        body = self.ok("UpdateInvoice", {"invoice": inv.id}, {"description": text},
                       what="the description can change in every state")
        inv.description = text
        expect(body["description"] == text, "POST /v1/invoices/{invoice}", "an update is applied",
               f"description {body['description']!r}, sent {text!r}")

    @rule(inv=invoices)
    def change_collection_method(self, inv: InvoiceModel) -> None:
        """Drafts switch freely (due_date follows: rules invoice.due_date.*); finalized invoices refuse it."""
        other = METHODS[1 - METHODS.index(inv.collection_method)]
        params = {"collection_method": other, **({"days_until_due": 30} if other == "send_invoice" else {})}
        locked = RULES["invoice.update.finalized"]
        if inv.status != locked.data["when"]["status"]:
            if self.rule_gate is None or self.rule_gate.allows(locked):
                self._refuse(inv, "UpdateInvoice", "update", params)
            return
        body = self.ok("UpdateInvoice", {"invoice": inv.id}, params, what="a draft's collection_method can change")
        inv.collection_method = other
        expect((body["due_date"] is not None) == (other == "send_invoice"), "POST /v1/invoices/{invoice}",
               "due_date is set exactly on send_invoice invoices (null on charge_automatically ones)",
               f"collection_method {other}, due_date {body['due_date']!r}")

    @rule(target=invoices, inv=consumes(invoices))
    def delete(self, inv: InvoiceModel) -> InvoiceModel | MultipleResults[InvoiceModel]:
        """Uses the invoice up when the delete succeeds; a refused delete puts it back in the bundle."""
        self._act(inv, "delete")
        return multiple() if inv.id in self.gone else inv

    @precondition(_has_deleted)
    @rule(data=st.data())
    def deleted_invoice_stays_gone(self, data: st.DataObject) -> None:
        gone = data.draw(st.sampled_from(self.gone), label="deleted invoice")
        resp = self.send("RetrieveInvoice", {"invoice": gone})
        expect(resp.status == 404, "DELETE /v1/invoices/{invoice}", "a deleted invoice stays gone (404)",
               f"GET after DELETE gave {resp.status}", resp)

    # -- the model must match the server after every step ------------------------------------------------------

    def _lines(self, inv: InvoiceModel) -> list[dict]:
        return self.ok("ListInvoiceLines", {"invoice": inv.id}, {"limit": 100})["data"]

    def read_backs(self) -> list[Read]:
        return [read for inv in self.model.values() for read in (
            ("RetrieveInvoice", {"invoice": inv.id}, None), ("ListInvoiceLines", {"invoice": inv.id}, {"limit": 100}),
            *([("ListInvoicePayments", None, {"invoice": inv.id})] if inv.status == "paid" and inv.amount_paid > 0
              else []))]

    @invariant()
    @read_back
    def server_matches_model(self) -> None:
        self.read_ahead(self.read_backs())
        for inv in self.model.values():
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


def test_invoice_lifecycle_matches_the_model(api, contract, world, profile, rules, machine_threads):
    label_test(contract["FinalizeInvoice"], "lifecycle", severity="critical",
               title="Invoices: every sequence of actions keeps the server equal to the model")
    run_machine(InvoiceLifecycle, api, contract, world, rules, profile=profile, threads=machine_threads)


# -- the transition table, exhaustively: every action from every state, in both collection methods ------------------

# Test inputs for actions that take parameters (not part of the table).
ACTION_PARAMS = {"pay": {"paid_out_of_band": True}, "lines": {"lines": [{"amount": 500, "description": "late"}]}}


def _kind(state: str, method: str) -> str:
    """The world kind of an invoice in `state`; the draft has lines, so finalizing it leaves it open (not paid)."""
    kind = "invoice:draft_with_lines" if state == "draft" else f"invoice:{state}"
    return kind + (":send_invoice" if method == "send_invoice" else "")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("action", RULES.actions("invoice"))
@pytest.mark.parametrize("state", STATES)
def test_every_transition_follows_the_table(state, action, method, api, contract, world, rules):
    """Legal transitions land in the status the rules table gives, with consistent amounts; the others are a 400
    that changes nothing."""
    decision = decide(action, state, method)
    op_id = operation(action)
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
                      what=REFUSED.format(action=action), context=moving(action, state, method))
        return
    body = calls.ok(op_id, {"invoice": inv["id"]}, params, what=f"{moving(action, state, method)} is allowed")
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
    rules.require(DECLINED)
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
