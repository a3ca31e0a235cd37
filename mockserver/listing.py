"""List pagination and filters, written once for every list endpoint (docs/conventions.md, "Lists").

Filters are derived from the operation's query parameters: a parameter whose schema is a range object (`gt`,
`gte`, `lt`, `lte`; alone or "integer or range object") filters the same-named timestamp field by range; any other
parameter filters by equality on the same-named field, an expandable field by the ID it holds (`customer=cus_x`
matches `customer: "cus_x"` and an expanded `customer: {"id": "cus_x", ...}`). `FIELD_OVERRIDES` covers the few
parameters whose field lives elsewhere or that test something else; tests/test_tables_complete.py checks that every
filter of every list names a field of the listed object or has a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from contracts.loader import Operation
from mockserver.errors import ApiError, no_such
from mockserver.store import Collection

PAGINATION = {"limit", "starting_after", "ending_before", "expand", "page"}

Predicate = Callable[[dict], bool]


def _dig(obj: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


# (operationId, parameter) -> how to test an object against the parameter's value, where the parameter does not
# name a field of the listed object
FIELD_OVERRIDES: dict[tuple[str, str], Callable[[dict, Any], bool]] = {
    # an invoice item's timestamp is `date`; "pending" items are on no invoice yet
    ("ListInvoiceItems", "created"): lambda obj, v: in_range(obj.get("date"), v),
    ("ListInvoiceItems", "pending"): lambda obj, v: (obj.get("invoice") is None) == v,
    # the invoice's subscription is `parent.subscription_details.subscription`
    ("ListInvoices", "subscription"):
        lambda obj, v: _id_of(_dig(obj, "parent", "subscription_details", "subscription")) == v,
    ("ListInvoicePayments", "payment"): lambda obj, v: all(_dig(obj, "payment", k) == val for k, val in v.items()),
    ("ListFinancialConnectionsTransactions", "transaction_refresh"):
        lambda obj, v: _dig(obj, "transaction_refresh") is not None
        and _after_refresh(obj["transaction_refresh"], v.get("after")),
}


def _after_refresh(refresh_id: Any, after: Any) -> bool:
    # Transaction refresh IDs carry a sequence number so "after" has an order: fctxnref_<seq>_...
    def seq(value: Any) -> int:
        try:
            return int(str(value).split("_")[1])
        except (IndexError, ValueError):
            return -1

    return after is None or seq(refresh_id) > seq(after)


def in_range(value: Any, bounds: Any) -> bool:
    """`created=5` or `created[gte]=1&created[lt]=9` against a timestamp."""
    if not isinstance(value, int):
        return False
    if isinstance(bounds, int):
        return value == bounds
    checks = {"gt": value.__gt__, "gte": value.__ge__, "lt": value.__lt__, "lte": value.__le__}
    return all(checks[k](v) for k, v in bounds.items())


RANGE_BOUNDS = {"gt", "gte", "lt", "lte"}


def is_range(schema: dict) -> bool:
    """A range filter's schema: the object of bounds (`created[gte]=...`), alone or as "integer or range object"."""
    branches = schema.get("anyOf", [schema])
    objects = [b for b in branches if b.get("type") == "object"]
    return len(objects) == 1 and set(objects[0].get("properties", {})) == RANGE_BOUNDS and \
        all(b.get("type") in ("integer", "object") for b in branches)


def filters_for(op: Operation, params: dict) -> list[Predicate]:
    """Predicates for every filter parameter present in the request."""
    preds: list[Predicate] = []
    for param in op.query_params:
        name = param.name
        if name in PAGINATION or name not in params or param.location != "query":
            continue
        value = params[name]
        override = FIELD_OVERRIDES.get((op.operation_id, name))
        if override is not None:
            preds.append(lambda obj, f=override, v=value: f(obj, v))
        elif is_range(param.schema):
            preds.append(lambda obj, n=name, v=value: in_range(obj.get(n), v))
        else:
            preds.append(lambda obj, n=name, v=value: _id_of(obj.get(n)) == v)
    return preds


def _matching(objects: Iterator[dict], preds: list[Predicate]) -> Iterator[dict]:
    for obj in objects:
        if all(p(obj) for p in preds):
            yield obj


def _cursor(coll: Collection, params: dict, name: str, label: str) -> int | None:
    object_id = params.get(name)
    if object_id is None:
        return None
    if object_id not in coll:
        raise no_such(label, object_id, param=name)
    return coll.position[object_id]


def page(coll: Collection, op: Operation, params: dict, url: str, label: str,
         extra: list[Predicate] | None = None, *, oldest_first: bool = False) -> dict:
    """One page of a list endpoint: newest first (or in insertion order, for an invoice's lines), `limit`
    items, cursors in either direction (docs/conventions.md, "Lists").

    :param coll: the account's collection to list.
    :param op: the list operation; its query parameters define the filters (`filters_for`).
    :param params: the request's validated parameters: ``limit`` (an int 1..100, default 10; validation has
        checked the range), ``starting_after`` / ``ending_before`` (IDs), and the filters.
    :param url: the list's path, echoed as ``url``.
    :param label: how errors name the object (``"invoice"``).
    :param extra: more predicates every listed object must satisfy.
    :param oldest_first: list in insertion order instead (an invoice's lines).
    :returns: ``{"object": "list", "data": [objects], "has_more": bool, "url": url}``; the objects are the stored
        ones, not copies.
    :raises ApiError: 400 ``parameters_exclusive`` when both cursors are given; 400 ``resource_missing`` naming
        the cursor parameter when it names no object of `coll`.
    """
    if "starting_after" in params and "ending_before" in params:
        raise ApiError(400, "You may only specify one of these parameters: ending_before, starting_after.",
                       code="parameters_exclusive", param="ending_before")
    limit = params.get("limit", 10)
    preds = filters_for(op, params) + (extra or [])
    after = _cursor(coll, params, "starting_after", label)
    before = _cursor(coll, params, "ending_before", label)
    forward, backward = (coll.oldest_first, coll.newest_first) if oldest_first else \
        (lambda pos: coll.newest_first(pos), lambda pos: coll.oldest_first(pos))
    if before is not None:
        found = _take(_matching(backward(before), preds), limit + 1)
        data = list(reversed(found[:limit]))
    else:
        start = after if after is not None else (-1 if oldest_first else None)
        found = _take(_matching(forward(start), preds), limit + 1)
        data = found[:limit]
    return {"object": "list", "data": data, "has_more": len(found) > limit, "url": url}


def _take(objects: Iterator[dict], n: int) -> list[dict]:
    out = []
    for obj in objects:
        out.append(obj)
        if len(out) >= n:
            break
    return out
