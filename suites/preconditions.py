"""For each of the 50 operations: the objects it acts on and a minimal valid request.

The contract says what a request looks like; it cannot say that `PayInvoice` needs an *open* invoice or that
`RemoveInvoiceLines` must name a line of that invoice. This table does, once, for every suite.
`setup(world)` returns `(path_params, params)`; objects that an operation consumes are created fresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.world import World

Setup = Callable[[World], tuple[dict[str, str], dict]]


@dataclass(frozen=True)
class Precondition:
    setup: Setup
    consumes: bool = False  # the operation changes the object's state (use a fresh one per request)
    kind: str | None = None  # the world kind of the main path object (for isolation checks)


def _first_line(world: World, kind: str = "invoice:draft_with_lines") -> tuple[dict, str]:
    inv = world.fresh(kind)
    return inv, inv["lines"]["data"][0]["id"]


def _pc(kind: str | None, params: Callable[[World], dict] | dict | None = None, *, path: str | None = None,
        consumes: bool = False, shared: bool = False) -> Precondition:
    """An operation on one object of `kind` (at path parameter `path`) with `params`."""

    def setup(world: World) -> tuple[dict[str, str], dict]:
        path_params = {}
        if kind is not None and path is not None:
            obj = world.shared(kind) if shared else world.fresh(kind)
            path_params[path] = obj["id"]
        body = params(world) if callable(params) else dict(params or {})
        return path_params, body

    return Precondition(setup, consumes, kind)


def _customer(world: World) -> str:
    return world.shared("customer")["id"]


def _update_line(world: World) -> tuple[dict[str, str], dict]:
    inv, line = _first_line(world)
    return {"invoice": inv["id"], "line_item_id": line}, {"description": "updated by the harness"}


def _lines_action(body: Callable[[str], dict]) -> Precondition:
    def setup(world: World) -> tuple[dict[str, str], dict]:
        inv, line = _first_line(world)
        return {"invoice": inv["id"]}, body(line)

    return Precondition(setup, True, "invoice:draft_with_lines")


def _attach_payment(world: World) -> tuple[dict[str, str], dict]:
    inv = world.fresh("invoice:open")
    intent = world.fresh("payment_intent:succeeded")
    return {"invoice": inv["id"]}, {"payment_intent": intent["id"]}


FORWARDING_BODY = {
    "url": "https://forwarding.example.com/cards", "replacements": ["card_number"],
    "request": {"body": '{"card":"{{CARD_NUMBER}}"}', "headers": [{"name": "Content-Type",
                                                                  "value": "application/json"}]},
}

_ACCOUNT = "financial_connections.account"
_SESSION = "identity.verification_session:requires_input"

PRECONDITIONS: dict[str, Precondition] = {
    # Financial Connections
    "RefreshFinancialConnectionsAccount": _pc(_ACCOUNT, {"features": ["balance"]}, path="account", consumes=True),
    "SubscribeFinancialConnectionsAccount": _pc(_ACCOUNT, {"features": ["transactions"]}, path="account",
                                                consumes=True),
    "UnsubscribeFinancialConnectionsAccount": _pc(_ACCOUNT, {"features": ["transactions"]}, path="account",
                                                  consumes=True),
    "CreateFinancialConnectionsSession": _pc(None, lambda w: {
        "account_holder": {"type": "customer", "customer": _customer(w)}, "permissions": ["transactions"]}),
    "RetrieveFinancialConnectionsSession": _pc("financial_connections.session", path="session", shared=True),
    "ListFinancialConnectionsTransactions": _pc(None, lambda w: {"account": w.shared(_ACCOUNT)["id"]}),
    "RetrieveFinancialConnectionsTransaction": _pc("financial_connections.transaction", path="transaction",
                                                   shared=True),
    # Forwarding
    "ListForwardingRequests": _pc(None),
    "CreateForwardingRequest": _pc(None, lambda w: {**FORWARDING_BODY,
                                                    "payment_method": w.shared("payment_method")["id"]}),
    "RetrieveForwardingRequest": _pc("forwarding.request", path="id", shared=True),
    # Identity
    "ListIdentityVerificationReports": _pc(None),
    "RetrieveIdentityVerificationReport": _pc("identity.verification_report", path="report", shared=True),
    "ListIdentityVerificationSessions": _pc(None),
    "CreateIdentityVerificationSession": _pc(None, {"type": "document"}),
    "RetrieveIdentityVerificationSession": _pc(_SESSION, path="session", shared=True),
    "UpdateIdentityVerificationSession": _pc(_SESSION, {"metadata": {"step": "2"}}, path="session", consumes=True),
    "CancelIdentityVerificationSession": _pc(_SESSION, path="session", consumes=True),
    "RedactIdentityVerificationSession": _pc(_SESSION, path="session", consumes=True),
    # Invoice payments
    "ListInvoicePayments": _pc(None),
    "RetrieveInvoicePayment": _pc("invoice_payment", path="invoice_payment", shared=True),
    # Invoice rendering templates
    "ListInvoiceRenderingTemplates": _pc(None),
    "RetrieveInvoiceRenderingTemplate": _pc("invoice_rendering_template:active", path="template", shared=True),
    "ArchiveInvoiceRenderingTemplate": _pc("invoice_rendering_template:active", path="template", consumes=True),
    "UnarchiveInvoiceRenderingTemplate": _pc("invoice_rendering_template:archived", path="template", consumes=True),
    # Invoice items
    "ListInvoiceItems": _pc(None),
    "CreateInvoiceItem": _pc(None, lambda w: {"customer": _customer(w), "amount": 500, "currency": "usd"}),
    "DeleteInvoiceItem": _pc("invoiceitem:pending", path="invoiceitem", consumes=True),
    "RetrieveInvoiceItem": _pc("invoiceitem:pending", path="invoiceitem", shared=True),
    "UpdateInvoiceItem": _pc("invoiceitem:pending", {"description": "updated"}, path="invoiceitem", consumes=True),
    # Invoices
    "ListInvoices": _pc(None),
    "CreateInvoice": _pc(None, lambda w: {"customer": _customer(w)}),
    "CreateInvoicePreview": _pc(None, lambda w: {"customer": _customer(w)}),
    "SearchInvoices": _pc(None, {"query": 'status:"draft"'}),
    "DeleteInvoice": _pc("invoice:draft", path="invoice", consumes=True),
    "RetrieveInvoice": _pc("invoice:draft_with_lines", path="invoice", shared=True),
    "UpdateInvoice": _pc("invoice:draft", {"description": "updated"}, path="invoice", consumes=True),
    "AddInvoiceLines": _pc("invoice:draft", {"lines": [{"amount": 250, "description": "added"}]}, path="invoice",
                           consumes=True),
    "AttachInvoicePayment": Precondition(_attach_payment, True, "invoice:open"),
    "FinalizeInvoice": _pc("invoice:draft_with_lines", path="invoice", consumes=True),
    "ListInvoiceLines": _pc("invoice:draft_with_lines", path="invoice", shared=True),
    "UpdateInvoiceLine": Precondition(_update_line, True, "invoice:draft_with_lines"),
    "MarkInvoiceUncollectible": _pc("invoice:open", path="invoice", consumes=True),
    "PayInvoice": _pc("invoice:open", {"payment_method": "pm_card_visa"}, path="invoice", consumes=True),
    "RemoveInvoiceLines": _lines_action(lambda line: {"lines": [{"id": line, "behavior": "delete"}]}),
    "SendInvoice": _pc("invoice:open:send_invoice", path="invoice", consumes=True),  # only send_invoice is sent
    "UpdateInvoiceLines": _lines_action(lambda line: {"lines": [{"id": line, "description": "changed"}]}),
    "VoidInvoice": _pc("invoice:open", path="invoice", consumes=True),
    # Issuing
    "ListIssuingAuthorizations": _pc(None),
    "RetrieveIssuingAuthorization": _pc("issuing.authorization", path="authorization", shared=True),
    "UpdateIssuingAuthorization": _pc("issuing.authorization", {"metadata": {"checked": "yes"}},
                                      path="authorization", consumes=True),
}
