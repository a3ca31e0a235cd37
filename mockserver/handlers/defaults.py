"""Behaviour derived from the contract: a plain retrieve and a plain list need no hand-written handler.

An operation gets a default handler when the contract says it is one of these (and no handler was registered
for it with `@handles`):

- **retrieve**: `GET` of one path parameter, answering one object whose kind has an ID prefix in `KINDS`, with
  no query parameter besides `expand`. The handler answers the caller's object that the path names, or a 404
  `resource_missing` (`fetch`).
- **list**: `GET` without path parameters, answering a list of such objects. The handler answers one page, newest
  first, with the cursors and filters the operation's query parameters declare (`list_objects`, mockserver/
  listing.py: a range filter for a timestamp, equality otherwise, by ID for a field that may hold the expanded
  object, `FIELD_OVERRIDES` for a filter whose field lives elsewhere).

Anything else (a query parameter a retrieve must honour, a list under a parent object, a filter that must name an
existing object) has behaviour, and a hand-written handler in this package.
"""

from __future__ import annotations

from contracts.loader import Contract, Operation
from mockserver.context import Context, Handler
from mockserver.handlers.common import fetch, list_objects
from mockserver.handlers.registry import HANDLERS
from mockserver.objects import KINDS

# Query parameters a plain retrieve may have: `expand` is applied by the app for every operation.
RETRIEVE_QUERY = {"expand"}


def _object_name(contract: Contract, schema: dict) -> str | None:
    """The `object` value a (possibly $ref) schema fixes, e.g. "invoice" or "list"; None when it fixes none."""
    return contract.resolve(schema).get("properties", {}).get("object", {}).get("enum", [None])[0]


def default_handler(op: Operation, contract: Contract) -> Handler | None:
    """The derived handler for a plain retrieve or list (see the module docstring), None for any other operation."""
    if op.method != "GET":
        return None
    answer = contract.resolve(op.responses["200"])
    if _object_name(contract, answer) == "list":
        kind = _object_name(contract, answer["properties"]["data"]["items"])
        if kind not in KINDS or op.path_params:
            return None

        def list_page(ctx: Context) -> dict:
            return list_objects(ctx, kind)

        list_page.__qualname__ = list_page.__name__ = f"list[{kind}]"
        return list_page
    kind = _object_name(contract, answer)
    if kind not in KINDS or len(op.path_params) != 1 or not op.path.endswith(f"/{{{op.path_params[0]}}}") \
            or not {p.name for p in op.query_params} <= RETRIEVE_QUERY:
        return None

    def retrieve(ctx: Context) -> dict:
        return fetch(ctx, kind)

    retrieve.__qualname__ = retrieve.__name__ = f"retrieve[{kind}]"
    return retrieve


def handlers_for(contract: Contract) -> dict[str, Handler]:
    """operationId -> behaviour for every operation of `contract` that has one: its registered handler, else the
    default derived from the contract. An operation missing here has no behaviour in the mock (a bug the app
    answers with a 500 and tests/test_tables_complete.py catches)."""
    table: dict[str, Handler] = {}
    for op_id, op in contract.operations.items():
        handler = HANDLERS.get(op_id) or default_handler(op, contract)
        if handler is not None:
            table[op_id] = handler
    return table
