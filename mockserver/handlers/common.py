"""Behaviour shared by many resources: create/retrieve/list, metadata updates, references between objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError, no_such
from mockserver.listing import Predicate, page
from mockserver.objects import KINDS, new_object

if TYPE_CHECKING:
    from mockserver.context import Context

METADATA_MAX_KEYS = 50


def optional(params: dict, name: str) -> Any:
    """A parameter's value, with "" (Stripe's way to unset a field) read as absent: None."""
    value = params.get(name)
    return None if value == "" else value


def store(ctx: Context, kind: str, obj: dict) -> dict:
    return ctx.account.collection(kind).add(obj)


def create(ctx: Context, kind: str, **fields: Any) -> dict:
    """Make and store a new object: `new_object` with `fields`, added to the caller's account.

    :param kind: the contract's object name (``"invoice"``, ``"financial_connections.account"``), a key of `KINDS`.
    :returns: the stored object itself (changing it changes the store).
    """
    return store(ctx, kind, new_object(ctx, kind, **fields))


def fetch(ctx: Context, kind: str, object_id: Any = None, param: str | None = None) -> dict:
    """The caller's object of `kind`; by default the one named by the operation's single path parameter.

    :param kind: the contract's object name, a key of `KINDS`.
    :param object_id: the ID to look up; None: the value of the request's (only) path parameter.
    :param param: the request parameter that named the ID, reported in the error's ``param``.
    :returns: the stored object (the store's own dict: copy before answering with it unchanged).
    :raises ApiError: 404 ``resource_missing`` (``No such <label>: '<id>'``) when the caller's account has no such
        object; another account's object is reported missing the same way, never revealed.
    """
    if object_id is None:
        object_id = next(iter(ctx.path.values()))
    return ctx.account.require(kind, object_id, KINDS[kind][1], param)


def reference(ctx: Context, kind: str, param: str) -> dict | None:
    """The object a request parameter names, or a 400 naming the parameter; None when the param is absent."""
    object_id = ctx.params.get(param)
    if object_id in (None, ""):
        return None
    obj = ctx.account.collection(kind).get(object_id)
    if obj is None:
        raise no_such(KINDS[kind][1], object_id, param=param)
    return obj


def list_objects(ctx: Context, kind: str, extra: list[Predicate] | None = None) -> dict:
    """One page of the caller's objects of `kind` (see `mockserver.listing.page`).

    :param kind: the contract's object name, a key of `KINDS`.
    :param extra: predicates every listed object must satisfy besides the filters the operation's query
        parameters define.
    :returns: ``{"object": "list", "data": [...], "has_more": bool, "url": str}``, newest first.
    :raises ApiError: 400 for both cursors at once, a 400 ``resource_missing`` naming ``starting_after`` or
        ``ending_before`` for a cursor the account does not have.
    """
    return page(ctx.account.collection(kind), ctx.op, ctx.params, ctx.request_path, KINDS[kind][1], extra)


def merge_metadata(current: dict | None, update: Any, param: str = "metadata") -> dict:
    """Stripe's metadata update: "" clears all, `k=""` removes k, other keys are set; at most 50 keys after."""
    if update == "":
        return {}
    merged = dict(current or {})
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise ApiError(400, f"You can have at most {METADATA_MAX_KEYS} metadata keys (this update would leave "
                            f"{len(merged)}).", code="parameter_invalid", param=param)
    return merged


def apply_updates(obj: dict, params: dict, fields: tuple[str, ...]) -> None:
    """Copy the given updatable fields from params onto obj ("" unsets to null; metadata merges)."""
    for name in fields:
        if name not in params:
            continue
        value = params[name]
        if name.endswith("metadata"):
            obj[name] = merge_metadata(obj.get(name), value, name)
        else:
            obj[name] = None if value == "" else value
