"""Validate and coerce decoded request params against the contract's OpenAPI 3.0 schemas.

The codec hands us strings, dicts and lists; Stripe answers bad input with an
``invalid_request_error`` naming a ``code`` and the full bracketed ``param``
(``wire.errors.ParamError``).
This module reproduces that so the mock server rejects exactly what Stripe
rejects, with the same error shape, and so strategies can check that the
values they build would be accepted.

Checks run in a fixed order, and the first failure wins:

1. at each object: shape -> ``maxProperties`` -> missing required properties
   (schema ``required`` order) -> unknown properties (request order) -> each
   present property in request order (key length, ``""`` on a required
   property, then the value itself, depth first);
2. at each array: shape -> ``maxItems``/``minItems`` -> each item in order;
3. at each scalar: ``""`` -> type/format -> range/length -> ``pattern`` -> ``enum``.

Already-typed Python values are judged by their wire form, exactly as after
a real HTTP round trip through ``wire.codec``: scalars are rendered with
``format_scalar`` (so ``True`` is never an integer and ``5`` is a valid
string), nested ``None`` values are dropped, and nested ``{}``/``[]`` count as
``""``. That lets strategies check the JSON-ish dicts they build.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from wire.codec import format_scalar
from wire.errors import (
    PARAMETER_INVALID,
    PARAMETER_INVALID_BOOLEAN,
    PARAMETER_INVALID_EMPTY,
    PARAMETER_INVALID_INTEGER,
    PARAMETER_INVALID_NUMBER,
    PARAMETER_INVALID_STRING_TOO_LONG,
    PARAMETER_MISSING,
    PARAMETER_UNKNOWN,
    ParamError,
)

__all__ = [
    "is_empty_marker",
    "schema_branches",
    "schema_shapes",
    "schema_type",
    "validate",
    "value_shape",
]

# --------------------------------------------------------------------------- patterns and limits

_INT_RE = re.compile(r"-?[0-9]+", re.ASCII)
_PATTERNS: dict[str, re.Pattern[str]] = {}
_NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SHOWN_CHARS = 100  # how much of an offending value a message quotes


# --------------------------------------------------------------------------- helpers


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if path else str(key)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def value_shape(value: Any) -> str:
    """"object", "array" or "scalar": what a decoded value is, for matching it to anyOf branches."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "scalar"


def _wire(value: Any) -> Any:
    """Typed scalars -> the string the server would have received; containers unchanged."""
    if isinstance(value, (dict, list, str)) or value is None:
        return value
    try:
        return format_scalar(value)
    except (TypeError, ValueError):
        return repr(value)  # unencodable (nan, objects): let the type check reject it


_ABSENT: Final = object()


def _as_sent(value: Any) -> Any:
    """What a nested value becomes on the wire: ``None`` is dropped, ``{}``/``[]`` become ``""``."""
    if value is None:
        return _ABSENT
    if isinstance(value, tuple):
        value = list(value)  # the codec sends tuples exactly like lists
    if isinstance(value, (dict, list)) and not value:
        return ""
    return value


def schema_type(schema: Mapping[str, Any]) -> str | None:
    """The type a schema describes, also when it only implies it (properties -> object, items -> array)."""
    declared = schema.get("type")
    if declared is not None:
        return declared
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def schema_branches(schema: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The alternatives of an anyOf/oneOf schema, or None."""
    branches = schema.get("anyOf", schema.get("oneOf"))
    return list(branches) if branches is not None else None


def is_empty_marker(schema: Mapping[str, Any]) -> bool:
    """The ``{type: string, enum: [""]}`` half of Stripe's "emptyable" pattern."""
    return schema.get("type", "string") == "string" and list(schema.get("enum", ())) == [""]


def _allows_empty(schema: Mapping[str, Any]) -> bool:
    """Does the schema say, explicitly, that ``""`` is a meaningful value?"""
    if "" in (schema.get("enum") or ()):
        return True
    return any(_allows_empty(branch) for branch in schema_branches(schema) or ())


def schema_shapes(schema: Mapping[str, Any]) -> set[str]:
    """The value shapes a schema accepts (all three when it says nothing)."""
    branches = schema_branches(schema)
    if branches is not None:
        return set().union(*(schema_shapes(b) for b in branches)) if branches else set()
    kind = schema_type(schema)
    if kind in ("object", "array"):
        return {kind}
    if kind is None:
        return {"object", "array", "scalar"}
    return {"scalar"}


def _empty_error(path: str) -> ParamError:
    return ParamError(
        PARAMETER_INVALID_EMPTY,
        path,
        f"You passed an empty string for '{path}'. We assume empty values are an attempt to unset a "
        f"parameter; however '{path}' cannot be unset. You should remove '{path}' from your request or "
        "supply a non-empty value.",
    )


def _range_message(value: Any, schema: Mapping[str, Any]) -> str | None:
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    if minimum is not None and value < minimum:
        return f"This value must be greater than or equal to {minimum} (it currently is '{value}')."
    if maximum is not None and value > maximum:
        return f"This value must be less than or equal to {maximum} (it currently is '{value}')."
    return None


def _compiled(pattern: str) -> re.Pattern[str]:
    """The contract's `pattern`s, compiled once (ASCII classes: `[0-9]` and `\\d` mean the same)."""
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern, re.ASCII)
    return found


# --------------------------------------------------------------------------- validators


def validate(params: Any, schema: Mapping[str, Any], *, path: str = "") -> Any:
    """Return a coerced copy of ``params`` or raise ``ParamError`` for the first problem.

    ``path`` is the bracketed name of ``params`` itself ("" for a whole request
    body), used as the prefix of every reported ``param``.
    """
    if "$ref" in schema:
        raise ValueError(f"Unresolved $ref {schema['$ref']!r} at {path or '<root>'}: inline refs first")
    branches = schema_branches(schema)
    if branches is not None:
        return _validate_any_of(params, branches, path)
    kind = schema_type(schema)
    if kind == "object":
        return _validate_object(params, schema, path)
    if kind == "array":
        return _validate_array(params, schema, path)
    value = _wire(params)
    if kind is None:
        return _copy(value)
    if value == "" and not (kind == "string" and _string_allows_empty(schema)):
        raise _empty_error(path)
    if kind == "string":
        return _validate_string(value, schema, path)
    if kind == "integer":
        return _validate_integer(value, schema, path)
    if kind == "number":
        return _validate_number(value, schema, path)
    if kind == "boolean":
        return _validate_boolean(value, path)
    raise ValueError(f"Unsupported schema type {kind!r} at {path or '<root>'}")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(sub) for key, sub in value.items()}
    if isinstance(value, list):
        return [_copy(sub) for sub in value]
    return value


def _validate_any_of(value: Any, branches: list[Mapping[str, Any]], path: str) -> Any:
    """First branch that accepts wins; otherwise report the branch most likely meant."""
    errors: list[tuple[Mapping[str, Any], ParamError]] = []
    for branch in branches:
        try:
            return validate(value, branch, path=path)
        except ParamError as exc:
            errors.append((branch, exc))
    if not errors:
        return _copy(value)  # anyOf: [] constrains nothing
    # The "" marker branch is an "unset" affordance, never what a non-"" value was aiming for.
    real = [(b, e) for b, e in errors if not is_empty_marker(b)] or errors
    shape = value_shape(value)
    matching = [(b, e) for b, e in real if shape in schema_shapes(b)] or real
    # Among equally plausible branches, the one that got deepest into the value is most specific.
    deepest = max(e.param.count("[") for _, e in matching)
    raise next(e for _, e in matching if e.param.count("[") == deepest)


def _validate_object(value: Any, schema: Mapping[str, Any], path: str) -> dict[str, Any]:
    value = _wire(value)
    if value == "":
        raise _empty_error(path)
    if isinstance(value, list) and schema.get("additionalProperties") not in (None, False) \
            and not schema.get("properties"):
        # A hash with keys "0", "1", ... (e.g. metadata[0]=x) reaches us as a list from the codec.
        value = {str(n): item for n, item in enumerate(value)}
    if not isinstance(value, dict):
        raise ParamError(PARAMETER_INVALID, path, f"Invalid object: {path or 'params'} must be a hash")
    value = {key: sub for key, sub in ((k, _as_sent(v)) for k, v in value.items()) if sub is not _ABSENT}
    max_properties = schema.get("maxProperties")
    if max_properties is not None and len(value) > max_properties:
        raise ParamError(
            PARAMETER_INVALID,
            path,
            f"Invalid {path or 'params'}: can have at most {max_properties} keys, "
            f"but you passed {len(value)}.",
        )
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required: list[str] = list(schema.get("required") or ())
    for name in required:
        if name not in value:
            param = _join(path, name)
            raise ParamError(PARAMETER_MISSING, param, f"Missing required param: {param}.")
    extra = schema.get("additionalProperties")
    if extra is None and "properties" not in schema:
        extra = True  # a bare {type: object} is a free-form hash, not one that accepts nothing
    if extra is None or extra is False:
        for name in value:
            if name not in properties:
                param = _join(path, name)
                raise ParamError(PARAMETER_UNKNOWN, param, f"Received unknown parameter: {param}")
    key_max = schema.get("x-key-max-length")
    result: dict[str, Any] = {}
    for name, sub in value.items():
        param = _join(path, name)
        if key_max is not None and len(name) > key_max:
            raise ParamError(
                PARAMETER_INVALID,
                param,
                f"Invalid {path or 'params'}: keys can be at most {key_max} characters, "
                f"but '{_shown(name)}' has {len(name)}.",
            )
        sub_schema = properties.get(name)
        if sub_schema is None:
            sub_schema = extra if isinstance(extra, Mapping) else {}
        elif name in required and sub == "" and not _allows_empty(sub_schema):
            raise _empty_error(param)
        result[name] = validate(sub, sub_schema, path=param)
    return result


def _validate_array(value: Any, schema: Mapping[str, Any], path: str) -> list[Any]:
    value = _wire(value)
    if value == "":
        raise _empty_error(path)
    if not isinstance(value, list):
        raise ParamError(PARAMETER_INVALID, path, f"Invalid array: {path or 'params'} must be a list")
    value = [sub for sub in map(_as_sent, value) if sub is not _ABSENT]
    max_items, min_items = schema.get("maxItems"), schema.get("minItems")
    if max_items is not None and len(value) > max_items:
        raise ParamError(
            PARAMETER_INVALID,
            path,
            f"Invalid array: {path} can have at most {max_items} items, but you passed {len(value)}.",
        )
    if min_items is not None and len(value) < min_items:
        raise ParamError(
            PARAMETER_INVALID,
            path,
            f"Invalid array: {path} must have at least {min_items} items, but you passed {len(value)}.",
        )
    items = schema.get("items") or {}
    return [validate(item, items, path=_join(path, index)) for index, item in enumerate(value)]


def _string_allows_empty(schema: Mapping[str, Any]) -> bool:
    enum = schema.get("enum")
    if enum is not None:
        return "" in enum
    return (schema.get("minLength") or 0) < 1


def _validate_string(value: Any, schema: Mapping[str, Any], path: str) -> str:
    if not isinstance(value, str):
        raise ParamError(PARAMETER_INVALID, path, f"Invalid string: {path} must be a string, not a hash/list")
    max_length, min_length = schema.get("maxLength"), schema.get("minLength")
    if max_length is not None and len(value) > max_length:
        raise ParamError(
            PARAMETER_INVALID_STRING_TOO_LONG,
            path,
            f"Invalid string: {_shown(value)}; must be at most {max_length} characters",
        )
    if min_length is not None and len(value) < min_length:
        raise ParamError(
            PARAMETER_INVALID,
            path,
            f"Invalid string: {_shown(value)}; must be at least {min_length} characters",
        )
    pattern = schema.get("pattern")
    if pattern is not None and not _compiled(pattern).search(value):
        if schema.get("format") == "decimal":
            raise ParamError(PARAMETER_INVALID, path, f"Invalid decimal: {_shown(value)}; {path} must be a plain "
                             f"decimal (no exponent) matching {pattern}: bounded digits before and after the point")
        raise ParamError(PARAMETER_INVALID, path, f"Invalid string: {_shown(value)}; must match {pattern}")
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        choices = [str(choice) for choice in enum]
        listed = " or ".join(choices) if len(choices) <= 2 else ", ".join(choices[:-1]) + f", or {choices[-1]}"
        raise ParamError(PARAMETER_INVALID, path, f"Invalid {path}: must be one of {listed}")
    return value


def _validate_integer(value: Any, schema: Mapping[str, Any], path: str) -> int:
    # len() guard keeps int() cheap and inside int64 before the exact range check.
    if not isinstance(value, str) or len(value) > 20 or not _INT_RE.fullmatch(value):
        raise ParamError(PARAMETER_INVALID_INTEGER, path, f"Invalid integer: {_shown(value)}")
    number = int(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ParamError(PARAMETER_INVALID_INTEGER, path, f"Invalid integer: {_shown(value)}")
    problem = _range_message(number, schema)
    if problem:
        raise ParamError(PARAMETER_INVALID_INTEGER, path, problem)
    _check_enum(number, schema, path)
    return number


def _validate_number(value: Any, schema: Mapping[str, Any], path: str) -> float:
    if not isinstance(value, str) or len(value) > 400 or not _NUMBER_RE.fullmatch(value):
        raise ParamError(PARAMETER_INVALID_NUMBER, path, f"Invalid decimal: {_shown(value)}")
    number = float(value)
    if not math.isfinite(number):  # e.g. 400 digits overflow to inf
        raise ParamError(PARAMETER_INVALID_NUMBER, path, f"Invalid decimal: {_shown(value)}")
    problem = _range_message(number, schema)
    if problem:
        raise ParamError(PARAMETER_INVALID_NUMBER, path, problem)
    _check_enum(number, schema, path)
    return number


def _validate_boolean(value: Any, path: str) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise ParamError(PARAMETER_INVALID_BOOLEAN, path, f"Invalid boolean: {_shown(value)}")


def _check_enum(value: Any, schema: Mapping[str, Any], path: str) -> None:
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        listed = ", ".join(str(choice) for choice in enum)
        raise ParamError(PARAMETER_INVALID, path, f"Invalid {path}: must be one of {listed}")
