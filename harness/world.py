"""Objects the suites need on the target, in the states they need, created through the API.

`World.fresh("invoice:open")` makes a new open invoice; `World.shared("customer")` reuses one. Where the target
cannot create something (no test helpers on a real staging server), the world falls back to IDs from the
`--harness-config` file, then to objects found through list endpoints, and otherwise skips the test with a reason
that names the missing capability.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from harness.client import ApiClient, Response


class Unavailable(Exception):
    """The target cannot provide an object of this kind (message names the capability and the config key)."""


_counter = itertools.count(1)


def _require_ok(resp: Response, what: str) -> dict:
    if resp.status == 404 and resp.json.get("error", {}).get("message", "").startswith("Unrecognized request URL"):
        raise Unavailable(f"the target has no {resp.exchange.method} {resp.exchange.path} ({what})")
    if resp.status != 200:
        raise AssertionError(f"Harness error: could not create {what} on the target (setup, not the property "
                             f"under test):\n{resp.describe()}")
    return resp.json


class World:
    # kind -> (config file key, list path used to discover an existing object)
    DISCOVERY = {
        "fc_account": ("financial_connections_account", None),
        "issuing_authorization": ("issuing_authorization", "/v1/issuing/authorizations"),
        "template:active": ("invoice_rendering_template", "/v1/invoice_rendering_templates"),
        "verification_report": ("identity_verification_report", "/v1/identity/verification_reports"),
        "customer": ("customer", "/v1/customers"),
    }

    def __init__(self, api: ApiClient, config: dict | None = None):
        self.api = api
        self.config = config or {}
        self._shared: dict[str, dict] = {}
        self.recipes: dict[str, Callable[[], dict]] = {
            "customer": self._customer,
            "payment_method": self._payment_method,
            "product": lambda: _require_ok(self.api.post("/v1/products", {"name": f"Harness {self.tag()}"}),
                                           "a product"),
            "invoice:draft": lambda: self._invoice(lines=0),
            "invoice:draft_with_lines": lambda: self._invoice(lines=2),
            "invoice:open": lambda: self._advance(self._invoice(lines=2), "finalize"),
            "invoice:paid": lambda: self._advance(self._invoice(lines=1), "pay", paid_out_of_band=True),
            "invoice:void": lambda: self._advance(self._advance(self._invoice(lines=1), "finalize"), "void"),
            "invoice:uncollectible": lambda: self._advance(self._advance(self._invoice(lines=1), "finalize"),
                                                           "mark_uncollectible"),
            "invoiceitem:pending": self._pending_item,
            "invoice_payment": self._invoice_payment,
            "payment_intent:succeeded": self._payment_intent,
            "verification_session:requires_input": self._verification_session,
            "verification_session:verified": self._verified_session,
            "verification_report": self._verification_report,
            "template:active": self._template,
            "template:archived": lambda: self._archived_template(),
            "fc_account": self._fc_account,
            "fc_session": self._fc_session,
            "fc_transaction": self._fc_transaction,
            "forwarding_request": self._forwarding_request,
            "issuing_authorization": self._issuing_authorization,
        }

    # -- public ---------------------------------------------------------------------------------------------

    def fresh(self, kind: str) -> dict:
        """A new object of `kind` (skips the test with a reason when the target can't make one)."""
        if kind not in self.recipes:
            raise KeyError(f"World has no recipe for {kind!r}; known: {', '.join(sorted(self.recipes))}")
        try:
            return self.recipes[kind]()
        except Unavailable as exc:
            found = self._discover(kind)
            if found is not None:
                return found
            key = self.DISCOVERY.get(kind, (kind,))[0]
            pytest.skip(f"cannot get a {kind} on this target: {exc}; name one in --harness-config as \"{key}\"")

    def shared(self, kind: str) -> dict:
        """One object of `kind` reused by every test of this worker (for read-only use)."""
        if kind not in self._shared:
            self._shared[kind] = self.fresh(kind)
        return self._shared[kind]

    def tag(self) -> str:
        return f"h{next(_counter)}"

    # -- discovery -----------------------------------------------------------------------------------------

    def _discover(self, kind: str) -> dict | None:
        key, list_path = self.DISCOVERY.get(kind, (kind, None))
        if self.config.get(key):
            return {"id": self.config[key]}
        if list_path:
            resp = self.api.get(list_path, {"limit": 1})
            if resp.status == 200 and resp.json.get("data"):
                return resp.json["data"][0]
        return None

    # -- recipes --------------------------------------------------------------------------------------------

    def _customer(self) -> dict:
        tag = self.tag()
        return _require_ok(self.api.post("/v1/customers", {"email": f"{tag}@example.com", "name": f"Harness {tag}"}),
                           "a customer")

    def _payment_method(self) -> dict:
        return _require_ok(self.api.post("/v1/payment_methods", {"type": "card", "card": {"token": "tok_visa"}}),
                           "a payment method")

    def _invoice(self, lines: int, **params: Any) -> dict:
        customer = self.shared("customer")["id"]
        inv = _require_ok(self.api.post("/v1/invoices", {"customer": customer, "currency": "usd", **params}),
                          "a draft invoice")
        if lines:
            spec = [{"amount": 1000 + 100 * n, "description": f"line {n}"} for n in range(lines)]
            inv = _require_ok(self.api.post(f"/v1/invoices/{inv['id']}/add_lines", {"lines": spec}),
                              "lines on a draft invoice")
        return inv

    def _advance(self, inv: dict, action: str, **params: Any) -> dict:
        return _require_ok(self.api.post(f"/v1/invoices/{inv['id']}/{action}", params), f"an invoice ({action})")

    def _pending_item(self) -> dict:
        customer = self.shared("customer")["id"]
        return _require_ok(self.api.post("/v1/invoiceitems", {"customer": customer, "amount": 700, "currency": "usd",
                                                              "description": "pending"}), "a pending invoice item")

    def _payment_intent(self, amount: int = 1000) -> dict:
        return _require_ok(self.api.post("/v1/payment_intents", {
            "amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}),
            "a succeeded payment intent")

    def _invoice_payment(self) -> dict:
        inv = self.fresh("invoice:paid")
        resp = self.api.get("/v1/invoice_payments", {"invoice": inv["id"], "limit": 1})
        data = resp.json.get("data") if resp.status == 200 else None
        if not data:
            raise AssertionError(f"Invariant violation: paid invoice {inv['id']} has no invoice payment\n"
                                 f"{resp.describe()}")
        return data[0]

    def _verification_session(self) -> dict:
        # No metadata: a boundary update may add the 50 keys an object can hold.
        return _require_ok(self.api.post("/v1/identity/verification_sessions", {"type": "document"}),
                           "a verification session")

    def _verified_session(self) -> dict:
        session = self._verification_session()
        return _require_ok(self.api.post(f"/v1/test_helpers/identity/verification_sessions/{session['id']}/verify"),
                           "a verified session (test helper)")

    def _verification_report(self) -> dict:
        session = self._verified_session()
        report = session.get("last_verification_report")
        report_id = report["id"] if isinstance(report, dict) else report
        return _require_ok(self.api.get(f"/v1/identity/verification_reports/{report_id}"), "a verification report")

    def _template(self) -> dict:
        return _require_ok(self.api.post("/v1/test_helpers/invoice_rendering_templates",
                                          {"nickname": f"Harness {self.tag()}"}), "an invoice rendering template")

    def _archived_template(self) -> dict:
        template = self.fresh("template:active")
        return _require_ok(self.api.post(f"/v1/invoice_rendering_templates/{template['id']}/archive"),
                           "an archived template")

    def _fc_account(self) -> dict:
        customer = self.shared("customer")["id"]
        return _require_ok(self.api.post("/v1/test_helpers/financial_connections/accounts",
                                         {"customer": customer, "transactions": 6}), "a Financial Connections account")

    def _fc_session(self) -> dict:
        customer = self.shared("customer")["id"]
        return _require_ok(self.api.post("/v1/financial_connections/sessions", {
            "account_holder": {"type": "customer", "customer": customer}, "permissions": ["transactions"]}),
            "a Financial Connections session")

    def _fc_transaction(self) -> dict:
        account = self.shared("fc_account")["id"]
        resp = self.api.get("/v1/financial_connections/transactions", {"account": account, "limit": 1})
        data = resp.json.get("data") if resp.status == 200 else None
        if not data:
            raise Unavailable(f"account {account} has no transactions")
        return data[0]

    def _forwarding_request(self) -> dict:
        return _require_ok(self.api.post("/v1/forwarding/requests", {
            "payment_method": self.shared("payment_method")["id"], "url": "https://forwarding.example.com/cards",
            "replacements": ["card_number", "card_expiry"],
            "request": {"body": '{"card": "{{CARD_NUMBER}}"}', "headers": [{"name": "X-Trace", "value": "1"}]}}),
            "a forwarding request")

    def _issuing_authorization(self) -> dict:
        return _require_ok(self.api.post("/v1/test_helpers/issuing/authorizations", {"amount": 1234,
                                                                                      "currency": "usd"}),
                           "an Issuing authorization (test helper)")
