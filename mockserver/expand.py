"""`expand[]=a.b.c`: replace IDs by the objects they name, guided by the contract's response schema.

A field is expandable when its schema is `anyOf [id string, object]` or when the contract marks it includable
(shown only when expanded); expanding anything else is a 400, as in Stripe. Lists (`data`) and arrays of
expandable IDs are expanded element by element.
"""

from __future__ import annotations

from typing import Any

from contracts.loader import Contract, expandable_target
from mockserver.errors import ApiError
from mockserver.includable import INCLUDABLE
from mockserver.objects import public_copy
from mockserver.store import Account

MAX_DEPTH = 4


def _not_expandable(path: str, index: int) -> ApiError:
    return ApiError(400, f"This property cannot be expanded ({path}).", code="parameter_invalid",
                    param=f"expand[{index}]")


def expand(contract: Contract, account: Account, body: Any, schema: dict, paths: list[str]) -> Any:
    """Replace the IDs that `paths` name in `body` by public copies of the account's objects (an ID the account
    does not have stays an ID; which includable fields an answer shows is decided later, `mockserver.includable`).

    :param body: the answer about to be sent: an object, a list (``{"object": "list", "data": [...]}``) or any
        JSON value.
    :param schema: the operation's 200 response schema, which says which fields are expandable.
    :param paths: the request's ``expand[]`` values, dotted (``"lines.data.invoice_item"``), in request order.
    :returns: `body` with the named IDs expanded (changed in place where it is a dict or list).
    :raises ApiError: 400 ``parameter_invalid`` naming ``expand[i]`` for a path deeper than `MAX_DEPTH` levels or
        through a field that is not expandable. `check_expand` raises the same errors before the request acts.
    """
    for index, path in enumerate(paths):
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise ApiError(400, f"You cannot expand more than {MAX_DEPTH} levels of a property ({path}).",
                           code="parameter_invalid", param=f"expand[{index}]")
        body = _walk(contract, account, body, schema, parts, path, index)
    return body


def _walk(contract: Contract, account: Account, value: Any, schema: dict, parts: list[str], path: str,
          index: int) -> Any:
    schema = _strip_null(contract, schema)
    if schema.get("type") == "array":
        if not isinstance(value, list):
            return value
        return [_walk(contract, account, v, schema["items"], parts, path, index) for v in value]
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    props = schema.get("properties", {})
    if head not in props:
        raise _not_expandable(path, index)
    if not isinstance(value, dict):
        return value
    field_schema = props[head]
    if field_schema.get(INCLUDABLE):  # kept in the answer (see mockserver/includable.py); maybe expanded inside
        if rest:
            value[head] = _walk(contract, account, value.get(head), field_schema, rest, path, index)
        return value
    target = expandable_target(field_schema)
    inner = _strip_null(contract, field_schema)
    if inner.get("type") == "array" and expandable_target(inner["items"]) is not False:
        target = expandable_target(inner["items"])
        items = value.get(head)
        if isinstance(items, list):
            value[head] = [_expand_one(contract, account, v, target, rest, path, index) for v in items]
        return value
    if target is not False:
        value[head] = _expand_one(contract, account, value.get(head), target, rest, path, index)
        return value
    if not rest:
        raise _not_expandable(path, index)
    value[head] = _walk(contract, account, value.get(head), field_schema, rest, path, index)
    return value


def _expand_one(contract: Contract, account: Account, value: Any, target: str | None, rest: list[str],
                path: str, index: int) -> Any:
    if isinstance(value, str):
        found = account.find(value)
        if found is None:
            return value
        value = public_copy(found)
    if rest and isinstance(value, dict):
        schema = contract.components.get(target, {}) if target else {}
        return _walk(contract, account, value, schema, rest, path, index)
    return value


def _strip_null(contract: Contract, schema: dict) -> dict:
    """The non-null schema of a field: follows $ref and drops the null branch of an anyOf."""
    schema = contract.resolve(schema)
    branches = [b for b in schema.get("anyOf", []) if b.get("enum") != [None]]
    if "anyOf" in schema and len(branches) == 1:
        return contract.resolve(branches[0])
    return schema


def check_expand(contract: Contract, schema: dict, paths: list[str]) -> None:
    """Refuse an `expand` that names something not expandable, from the response schema alone (before the
    request acts; Stripe validates a request fully first). Raises the same 400s `expand` would."""
    for index, path in enumerate(paths):
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise ApiError(400, f"You cannot expand more than {MAX_DEPTH} levels of a property ({path}).",
                           code="parameter_invalid", param=f"expand[{index}]")
        _check_parts(contract, schema, parts, path, index)


def _check_parts(contract: Contract, schema: dict, parts: list[str], path: str, index: int) -> None:
    """The schema-only twin of `_walk`: the same rules, followed through every branch a value could take."""
    schema = _strip_null(contract, schema)
    while schema.get("type") == "array":
        schema = _strip_null(contract, schema["items"])
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    props = schema.get("properties", {})
    if head not in props:
        raise _not_expandable(path, index)
    field_schema = props[head]
    if field_schema.get(INCLUDABLE):  # shown when expanded; deeper parts follow the field's own schema
        if rest:
            _check_parts(contract, field_schema, rest, path, index)
        return
    target = expandable_target(field_schema)
    inner = _strip_null(contract, field_schema)
    if inner.get("type") == "array" and expandable_target(inner["items"]) is not False:
        target = expandable_target(inner["items"])
    elif target is False:
        if not rest:
            raise _not_expandable(path, index)
        _check_parts(contract, field_schema, rest, path, index)
        return
    if rest:
        _check_parts(contract, contract.components.get(target, {}) if target else {}, rest, path, index)
