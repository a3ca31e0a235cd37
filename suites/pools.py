"""Pools of existing objects (`strategies.Refs`) for one generated request, built from the world.

Read-only references come from objects the worker shares; the objects an operation changes (an invoice it
finalizes, a session it cancels) are made fresh for every request, so each example starts from the state the
strategy assumed. Examples take them in no particular order, so the world may make them ahead, several side by
side (`World.fresh(..., ahead=True)`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from harness.world import World
from strategies import OPERATION_HINTS, Refs
from suites.preconditions import PRECONDITIONS

# Pools and world objects share one vocabulary: the contract's object name, plus ":state" where a state matters
# ("invoice:open", "identity.verification_session:verified"). Each pool is filled with the world's object of the
# same kind; POOL_SOURCES says what the strategies need to know about each object besides its ID.
Attrs = Callable[[dict], dict[str, Any]]


def _no_attrs(obj: dict) -> dict[str, Any]:
    return {}


def _invoice_attrs(inv: dict) -> dict[str, Any]:
    return {"customer": inv["customer"], "currency": inv["currency"]}


def _item_attrs(item: dict) -> dict[str, Any]:
    return {"currency": item["currency"], "customer": item["customer"]}


POOL_SOURCES: dict[str, Attrs] = {
    "customer": _no_attrs,
    "product": _no_attrs,
    "payment_method": _no_attrs,
    "payment_intent:succeeded": lambda o: {"currency": o["currency"], "amount": o["amount"]},
    "invoice:draft": _invoice_attrs,
    "invoice:open": _invoice_attrs,
    "invoice:open:send_invoice": _invoice_attrs,
    "invoice:paid": _invoice_attrs,
    "invoice:uncollectible": _invoice_attrs,
    "invoice:void": _invoice_attrs,
    "invoiceitem:pending": _item_attrs,
    "invoice_payment": _no_attrs,
    "invoice_rendering_template:active": _no_attrs,
    "invoice_rendering_template:archived": _no_attrs,
    "financial_connections.account": _no_attrs,
    "financial_connections.session": _no_attrs,
    "forwarding.request": _no_attrs,
    "identity.verification_session:requires_input": _no_attrs,
    "identity.verification_session:verified": _no_attrs,
    "identity.verification_report": _no_attrs,
    "issuing.authorization": _no_attrs,
}

# The one pool filled from another world kind: the drafts the strategies name carry lines, so that the line
# operations (and the "line_item:draft" pool) have some.
DRAWN_FROM = {"invoice:draft": "invoice:draft_with_lines"}


def world_kind(kind: str) -> str:
    """The `harness.world` kind a pool of `kind` is filled from (the same name but for `DRAWN_FROM`)."""
    return DRAWN_FROM.get(kind, kind)


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
        refs = refs.with_ids(kind, world.shared(world_kind(kind))["id"])
    for kind in sorted({k for used in kinds_used(operation_id) for k in _expand(used)} - set(ALWAYS_SHARED)):
        if kind in DERIVED:
            refs = DERIVED[kind](world, refs, fresh)
            continue
        source = world_kind(kind)
        obj = world.fresh(source, ahead=True) if fresh else world.shared(source)
        refs = refs.with_ids(kind, obj["id"], **POOL_SOURCES[kind](obj))
    return refs


def _lines(world: World, refs: Refs, fresh: bool) -> Refs:
    source = world_kind("invoice:draft")
    inv = world.fresh(source, ahead=True) if fresh else world.shared(source)
    refs = refs.with_ids("invoice:draft", inv["id"], **_invoice_attrs(inv))
    return refs.with_ids("line_item:draft", *[line["id"] for line in inv["lines"]["data"]], invoice=inv["id"])


def _draft_items(world: World, refs: Refs, fresh: bool) -> Refs:
    # adding to a shared draft would grow it towards its 250-line limit
    inv = world.fresh("invoice:draft", ahead=True)
    item = world.create("CreateInvoiceItem", {"invoice": inv["id"], "amount": 900}, what="an invoice item on a draft")
    return refs.with_ids("invoiceitem:draft", item["id"], **_item_attrs(item))


def _transactions(world: World, refs: Refs, fresh: bool) -> Refs:
    account = world.shared("financial_connections.account")["id"]
    data = world.api.get("/v1/financial_connections/transactions", {"account": account, "limit": 5}).json["data"]
    refs = refs.with_ids("financial_connections.account", account)
    refs = refs.with_ids("financial_connections.transaction", *[t["id"] for t in data], account=account)
    refreshes = {t["transaction_refresh"] for t in data}
    return refs.with_ids("financial_connections.transaction_refresh", *refreshes, account=account)


def _cards(world: World, refs: Refs, fresh: bool) -> Refs:
    auth = world.shared("issuing.authorization")
    card = auth["card"]["id"] if isinstance(auth.get("card"), dict) else auth.get("card")
    holder = auth.get("cardholder")
    holder = holder["id"] if isinstance(holder, dict) else holder
    refs = refs.with_ids("issuing.card", card) if card else refs
    return refs.with_ids("issuing.cardholder", holder) if holder else refs


DERIVED: dict[str, Callable[[World, Refs, bool], Refs]] = {
    "line_item:draft": _lines,
    "invoiceitem:draft": _draft_items,
    "financial_connections.transaction": _transactions,
    "financial_connections.transaction_refresh": _transactions,
    "issuing.card": _cards,
    "issuing.cardholder": _cards,
}
