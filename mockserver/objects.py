"""Complete response objects from the contract: every field present, null where nullable, typed defaults otherwise.

Handlers start from `new_object(ctx, name)` (or `blank(name)`) and set only what has meaning, so every object the
mock returns has the full shape of its contract schema without per-resource boilerplate.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import orjson

from contracts.loader import load_contract
from mockserver.store import new_id, now

if TYPE_CHECKING:
    from mockserver.context import Context

# component schema name -> (ID prefix, label used in "No such <label>" messages); every object the contract's
# operations return has a row (tests/test_tables_complete.py)
KINDS: dict[str, tuple[str, str]] = {
    "invoice": ("in", "invoice"),
    "invoiceitem": ("ii", "invoiceitem"),
    "line_item": ("il", "line item"),
    "invoice_payment": ("inpay", "invoice payment"),
    "invoice_rendering_template": ("inrtem", "invoice rendering template"),
    "financial_connections.account": ("fca", "financial connections account"),
    "financial_connections.session": ("fcsess", "financial connections session"),
    "financial_connections.transaction": ("fctxn", "financial connections transaction"),
    "forwarding.request": ("fwdreq", "forwarding request"),
    "identity.verification_report": ("vr", "verification report"),
    "identity.verification_session": ("vs", "verification session"),
    "issuing.authorization": ("iauth", "issuing authorization"),
    "financial_connections.account_ownership": ("fcaowns", "financial connections account ownership"),
    "issuing.card": ("ic", "issuing card"),
    "issuing.cardholder": ("ich", "issuing cardholder"),
    "customer": ("cus", "customer"),
    "product": ("prod", "product"),
    "payment_method": ("pm", "payment method"),
    "payment_intent": ("pi", "payment intent"),
}

_SCALAR_DEFAULTS = {"string": "", "integer": 0, "number": 0, "boolean": False}


def _value(schema: dict, stack: tuple[str, ...]) -> Any:
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        if name in stack:
            return None
        return _template(name, (*stack, name))
    if "anyOf" in schema:
        branches = schema["anyOf"]
        if any(b.get("enum") == [None] for b in branches):
            return None
        return _value(branches[0], stack)
    if schema.get("nullable"):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        if set(props) >= {"object", "data", "has_more", "url"}:
            return {"object": props["object"]["enum"][0], "data": [], "has_more": False, "url": ""}
        return {name: _value(sub, stack) for name, sub in props.items()}
    if kind == "array":
        return []
    return _SCALAR_DEFAULTS.get(kind)


def _template(name: str, stack: tuple[str, ...]) -> dict:
    schema = load_contract().components[name]
    # `deleted` only appears on deleted objects
    return {prop: _value(sub, stack) for prop, sub in schema.get("properties", {}).items()
            if prop != "deleted" or name.startswith("deleted_")}


@functools.cache
def _cached_template(name: str) -> dict:
    return _template(name, (name,))


@functools.cache
def _template_json(name: str) -> bytes:
    # Templates are plain JSON values built fresh (no shared sub-objects), so parsing this is a deep copy.
    return orjson.dumps(_cached_template(name))


def blank(name: str, **fields: Any) -> dict:
    """A fresh, complete object of component schema `name`, with `fields` set on top."""
    # dict(...items()) re-inserts the keys: orjson presizes the dicts it parses (~40% larger for ~25 keys), and
    # stored objects should stay as compact as the deepcopy this replaced (RSS at 100k items, bench/).
    obj = dict(orjson.loads(_template_json(name)).items())
    obj.update(fields)
    return obj


def new_object(ctx: Context, kind: str, **fields: Any) -> dict:
    """A complete new object of `kind` (a KINDS row, not stored yet): ID, `created` (Unix seconds) and `livemode`
    set, then `fields` on top."""
    prefix = KINDS[kind][0]
    obj = blank(kind, id=new_id(prefix), livemode=ctx.livemode)
    if "created" in obj:
        obj["created"] = now()
    obj.update(fields)
    return obj


def public_copy(value: Any) -> Any:
    """A deep copy of what a handler returns (stored objects must not change while the answer is built)."""
    return orjson.loads(orjson.dumps(value))


def complete(schema: dict, value: Any) -> Any:
    """`value` with every field its schema lists, at every depth: what a request left out reads as the blank
    object would (null where nullable). Stripe answers complete objects however partially they were given."""
    if isinstance(value, list):
        items = _object_branch(schema, "array")
        return [complete(items["items"], v) for v in value] if items else value
    if not isinstance(value, dict):
        return value
    node = _object_branch(schema, "object")
    if node is None:
        return value
    props = node.get("properties", {})
    out = {name: complete(props[name], v) if name in props else v for name, v in value.items()}
    for name, sub in props.items():
        if name not in out:
            out[name] = _value(sub, ())
    return out


def _object_branch(schema: dict, kind: str) -> dict | None:
    """The branch of a (possibly $ref, nullable or anyOf) schema that holds values of JSON type `kind`."""
    if "$ref" in schema:
        schema = load_contract().components[schema["$ref"].split("/")[-1]]
    if schema.get("type") == kind:
        return schema
    for branch in schema.get("anyOf", []):
        found = _object_branch(branch, kind)
        if found is not None:
            return found
    return None


def complete_field(schema_name: str, field: str, value: Any) -> Any:
    """A request value for `field` of object `schema_name`, completed to the shape the object holds."""
    return complete(load_contract().components[schema_name]["properties"][field], value)


@functools.cache
def _field_validator(schema_name: str, field: str) -> Any:
    contract = load_contract()
    return contract.compile(contract.components[schema_name]["properties"][field])


def check_representable(schema_name: str, field: str, value: Any) -> None:
    """Refuse a request value the object cannot hold (e.g. a country outside the field's enum), as Stripe would,
    instead of storing it and answering with an object that breaks the contract."""
    from mockserver.errors import ApiError

    for error in _field_validator(schema_name, field).iter_errors(value):
        param = field + "".join(f"[{part}]" for part in error.instance_path)
        raise ApiError(400, f"Invalid value for {param}: {error.message[:200]}", code="parameter_invalid",
                       param=param)
