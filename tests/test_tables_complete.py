"""Every table keyed by operation or object kind covers what the contract says it must.

Adding an operation means adding a row to several tables (docs/adding-an-operation.md lists them). A missing row
must fail here, by name, instead of silently falling back to a default that tests less.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from contracts.loader import load_contract
from harness.world import RECIPES, World
from mockserver.handlers import HANDLERS, handlers_for
from mockserver.listing import FIELD_OVERRIDES, PAGINATION
from mockserver.objects import KINDS
from strategies.hints import OPERATION_HINTS
from suites import test_pagination, test_properties
from suites.pools import DERIVED, POOL_SOURCES, kinds_used, world_kind
from suites.preconditions import PRECONDITIONS

CONTRACT = load_contract()
SEED = {op.operation_id: op for op in CONTRACT.seed_operations}
LISTS = {op_id for op_id, op in SEED.items() if op.is_list}


def _body_properties(op) -> dict:
    return CONTRACT.resolve(op.body_schema).get("properties", {}) if op.body_schema else {}


def test_every_operation_has_request_hints() -> None:
    assert sorted(set(SEED) - set(OPERATION_HINTS)) == [], "add an OperationHints row in strategies/hints.py"
    assert sorted(set(OPERATION_HINTS) - set(SEED)) == [], "hints for operations the contract does not have"


def test_every_operation_has_a_precondition() -> None:
    assert sorted(set(SEED) - set(PRECONDITIONS)) == [], "add a Precondition in suites/preconditions.py"
    assert sorted(set(PRECONDITIONS) - set(SEED)) == []


def test_every_operation_and_supporting_endpoint_has_a_mock_handler() -> None:
    """Hand-written (`@handles`) or derived from the contract (a plain retrieve or list, handlers/defaults.py)."""
    handlers = handlers_for(CONTRACT)
    assert sorted(op_id for op_id in CONTRACT.operations if op_id not in handlers) == [], \
        "write a handler in mockserver/handlers/ (the operation is not a plain retrieve or list)"


def test_every_hand_written_handler_has_behaviour() -> None:
    """A handler that only fetches or lists (`return fetch(ctx, kind)`) repeats what the contract already derives:
    drop it. One with behaviour of its own (a query parameter, a parent object, a filter that must exist) stays."""
    plain = []
    for path in sorted(Path(__file__).resolve().parents[1].glob("mockserver/handlers/*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or not node.decorator_list:
                continue
            body = [b for b in node.body if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
            call = body[0].value if len(body) == 1 and isinstance(body[0], ast.Return) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and \
                    call.func.id in ("fetch", "list_objects") and len(call.args) == 2 and not call.keywords:
                plain.append(f"{path.name}:{node.name}")
    assert plain == [], "plain retrieves and lists come from the contract (mockserver/handlers/defaults.py)"
    assert set(HANDLERS) <= set(CONTRACT.operations), "handlers for operations the contract does not have"


def test_every_object_an_operation_returns_has_an_id_prefix() -> None:
    """`KINDS` (mockserver/objects.py) gives each object the mock makes its ID prefix and its "No such" label."""
    def object_name(schema: dict) -> str | None:
        return CONTRACT.resolve(schema).get("properties", {}).get("object", {}).get("enum", [None])[0]

    returned = set()
    for op in CONTRACT.operations.values():
        answer = CONTRACT.resolve(op.responses["200"])
        name = object_name(answer)
        returned.add(object_name(answer["properties"]["data"]["items"]) if name in ("list", "search_result")
                     else name)
    assert sorted(returned - set(KINDS)) == [], "add the object's ID prefix and label to KINDS"


@pytest.mark.parametrize("operation_id", sorted(SEED))
def test_every_object_kind_the_hints_use_has_a_pool(operation_id: str) -> None:
    """A kind named in a hint (``Ref("invoice:open")``) must be something the suites can obtain from the world."""
    pools = [*POOL_SOURCES, *DERIVED]
    for kind in kinds_used(operation_id):
        assert kind in pools or any(p.startswith(kind + ":") for p in pools), \
            f"{operation_id} draws {kind!r}, which neither POOL_SOURCES nor DERIVED in suites/pools.py provides"


def test_every_pool_comes_from_a_world_recipe() -> None:
    missing = sorted(kind for kind in POOL_SOURCES if world_kind(kind) not in RECIPES)
    assert missing == [], "POOL_SOURCES names world kinds with no recipe in harness/world.py"


def test_every_discoverable_kind_has_a_recipe() -> None:
    assert sorted(set(World.DISCOVERY) - set(RECIPES)) == []


def _listed_object(op) -> dict | None:
    """The schema of the objects a list operation answers (None when `op` is no list)."""
    answer = CONTRACT.resolve(op.responses["200"])
    if op.method != "GET" or answer.get("properties", {}).get("object", {}).get("enum") != ["list"]:
        return None
    return CONTRACT.resolve(answer["properties"]["data"]["items"])


def test_every_list_filter_names_a_field_or_has_an_override() -> None:
    """The mock filters a list by the field a query parameter names (mockserver/listing.py); a filter whose field
    lives elsewhere needs a FIELD_OVERRIDES row, or it would silently match nothing."""
    filters, unmatched = set(), []
    for op in CONTRACT.operations.values():
        listed = _listed_object(op)
        for param in op.query_params if listed is not None else []:
            if param.name in PAGINATION:
                continue
            filters.add((op.operation_id, param.name))
            if param.name not in listed.get("properties", {}) and (op.operation_id, param.name) not in FIELD_OVERRIDES:
                unmatched.append((op.operation_id, param.name))
    assert unmatched == [], "add a FIELD_OVERRIDES row in mockserver/listing.py"
    assert sorted(set(FIELD_OVERRIDES) - filters) == [], "FIELD_OVERRIDES rows for filters the contract does not have"


def test_every_list_has_a_pagination_case() -> None:
    assert sorted(LISTS - set(test_pagination.CASES)) == [], "add a case to CASES in suites/test_pagination.py"


def test_every_enum_or_boolean_filter_of_every_list_is_exercised() -> None:
    """Each list filter whose values are a closed set (an enum, or a boolean like `pending`) has a VALUE_FILTERS row,
    and the values it tries are values the contract allows."""
    expected = set()
    for op_id in LISTS:
        for param in SEED[op_id].query_params:
            schema = CONTRACT.resolve(param.schema)
            if param.name != "expand" and (schema.get("enum") or schema.get("type") == "boolean"):
                expected.add((op_id, param.name))
                values, _read = test_pagination.VALUE_FILTERS.get((op_id, param.name), ([], None))
                allowed = schema.get("enum") or [True, False]
                assert set(values) <= set(allowed), f"{op_id} {param.name}: {values} not all in {allowed}"
    assert sorted(expected - set(test_pagination.VALUE_FILTERS)) == []
    assert sorted(set(test_pagination.VALUE_FILTERS) - expected) == []


# Update operations whose read-after-write is a dedicated test instead of a metadata row (and why).
READ_BACK_ELSEWHERE = {
    "UpdateInvoiceLine": "test_line_updates_are_read_back: a line is read back through its invoice's lines",
}


def test_every_update_with_metadata_is_read_back() -> None:
    updates = {op_id for op_id, op in SEED.items()
               if op.method == "POST" and re.search(r"/\{[a-z_]+\}$", op.path) and "metadata" in _body_properties(op)}
    assert sorted(updates - set(test_properties.UPDATES) - set(READ_BACK_ELSEWHERE)) == [], \
        "add the update to UPDATES in suites/test_properties.py"


def test_every_delete_is_checked() -> None:
    deletes = {op_id for op_id, op in SEED.items() if op.method == "DELETE"}
    assert sorted(deletes ^ set(test_properties.DELETES)) == []
