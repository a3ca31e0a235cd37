"""Pools of existing objects (`strategies.Refs`) for one generated request, built from the world.

Read-only references come from objects the worker shares; the objects an operation changes (an invoice it
finalizes, a session it cancels) are made fresh for every request, so each example starts from the state the
strategy assumed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from harness.world import World
from strategies import OPERATION_HINTS, Refs
from suites.preconditions import PRECONDITIONS

# strategies kind -> how to get one such object from the world: (world kind, attrs to record)
Attrs = Callable[[dict], dict[str, Any]]


def _invoice_attrs(inv: dict) -> dict[str, Any]:
    return {"customer": inv["customer"], "currency": inv["currency"]}


POOL_SOURCES: dict[str, tuple[str, Attrs]] = {
    "customer": ("customer", lambda o: {}),
    "product": ("product", lambda o: {}),
    "payment_method": ("payment_method", lambda o: {}),
    "payment_intent": ("payment_intent:succeeded", lambda o: {"currency": o["currency"], "amount": o["amount"]}),
    "invoice:draft": ("invoice:draft_with_lines", _invoice_attrs),
    "invoice:open": ("invoice:open", _invoice_attrs),
    "invoice:open_send_invoice": ("invoice:open:send_invoice", _invoice_attrs),
    "invoice:paid": ("invoice:paid", _invoice_attrs),
    "invoice:uncollectible": ("invoice:uncollectible", _invoice_attrs),
    "invoice:void": ("invoice:void", _invoice_attrs),
    "invoiceitem:pending": ("invoiceitem:pending", lambda o: {"currency": o["currency"], "customer": o["customer"]}),
    "invoice_payment": ("invoice_payment", lambda o: {}),
    "invoice_rendering_template:active": ("template:active", lambda o: {}),
    "invoice_rendering_template:archived": ("template:archived", lambda o: {}),
    "fc_account": ("fc_account", lambda o: {}),
    "fc_session": ("fc_session", lambda o: {}),
    "forwarding_request": ("forwarding_request", lambda o: {}),
    "verification_session:requires_input": ("verification_session:requires_input", lambda o: {}),
    "verification_session:verified": ("verification_session:verified", lambda o: {}),
    "verification_report": ("verification_report", lambda o: {}),
    "issuing_authorization": ("issuing_authorization", lambda o: {}),
}


ALWAYS_SHARED = ("customer", "product", "payment_method")


def kinds_used(operation_id: str) -> set[str]:
    """Every pool kind the operation's hints may draw from."""
    hints = OPERATION_HINTS.get(operation_id)
    return set(_kinds_in(hints)) if hints is not None else set()


def _kinds_in(value: Any) -> Iterator[str]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kinds = getattr(value, "kinds", None)
        if isinstance(kinds, tuple):
            yield from kinds
        for f in dataclasses.fields(value):
            yield from _kinds_in(getattr(value, f.name))
    elif isinstance(value, dict):
        for v in value.values():
            yield from _kinds_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _kinds_in(v)


def _expand(kind: str) -> list[str]:
    """A plain kind ("invoice") stands for all its qualified pools."""
    if kind in POOL_SOURCES or kind in DERIVED:
        return [kind]
    return [k for k in [*POOL_SOURCES, *DERIVED] if k.startswith(kind + ":")]


def refs_for(world: World, operation_id: str) -> Refs:
    """Refs for one request of `operation_id`: fresh objects where the operation changes them."""
    fresh = PRECONDITIONS[operation_id].consumes
    refs = Refs()
    for kind in ALWAYS_SHARED:  # referenced by the global hints (any `customer`, `payment_method` field)
        refs = refs.with_ids(kind, world.shared(POOL_SOURCES[kind][0])["id"])
    for kind in sorted({k for used in kinds_used(operation_id) for k in _expand(used)} - set(ALWAYS_SHARED)):
        if kind in DERIVED:
            refs = DERIVED[kind](world, refs, fresh)
            continue
        world_kind, attrs = POOL_SOURCES[kind]
        obj = world.fresh(world_kind) if fresh else world.shared(world_kind)
        refs = refs.with_ids(kind, obj["id"], **attrs(obj))
    return refs


def _lines(world: World, refs: Refs, fresh: bool) -> Refs:
    inv = world.fresh("invoice:draft_with_lines") if fresh else world.shared("invoice:draft_with_lines")
    refs = refs.with_ids("invoice:draft", inv["id"], **_invoice_attrs(inv))
    return refs.with_ids("invoice_line:draft", *[line["id"] for line in inv["lines"]["data"]], invoice=inv["id"])


def _draft_items(world: World, refs: Refs, fresh: bool) -> Refs:
    inv = world.fresh("invoice:draft")  # adding to a shared draft would grow it towards its 250-line limit
    item = world.create("CreateInvoiceItem", {"invoice": inv["id"], "amount": 900}, what="an invoice item on a draft")
    return refs.with_ids("invoiceitem:draft", item["id"], currency=item["currency"], customer=item["customer"])


def _transactions(world: World, refs: Refs, fresh: bool) -> Refs:
    account = world.shared("fc_account")["id"]
    data = world.api.get("/v1/financial_connections/transactions", {"account": account, "limit": 5}).json["data"]
    refs = refs.with_ids("fc_account", account)
    refs = refs.with_ids("fc_transaction", *[t["id"] for t in data], account=account)
    return refs.with_ids("fc_transaction_refresh", *{t["transaction_refresh"] for t in data}, account=account)


def _cards(world: World, refs: Refs, fresh: bool) -> Refs:
    auth = world.shared("issuing_authorization")
    card = auth["card"]["id"] if isinstance(auth.get("card"), dict) else auth.get("card")
    holder = auth.get("cardholder")
    holder = holder["id"] if isinstance(holder, dict) else holder
    refs = refs.with_ids("issuing_card", card) if card else refs
    return refs.with_ids("issuing_cardholder", holder) if holder else refs


DERIVED: dict[str, Callable[[World, Refs, bool], Refs]] = {
    "invoice_line:draft": _lines,
    "invoiceitem:draft": _draft_items,
    "fc_transaction": _transactions,
    "fc_transaction_refresh": _transactions,
    "issuing_card": _cards,
    "issuing_cardholder": _cards,
}
