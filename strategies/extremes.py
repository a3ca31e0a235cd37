"""Extreme but well-formed requests: a valid request with exactly one field at an extreme value, and paths whose
IDs carry an encoded slash or leave a segment empty.

A server must answer these with a 2xx or a 4xx, quickly, and a refused one must change nothing. A value outside
what the contract allows (its bounds, 64 bits, its pattern) is the request's one defect, so it carries the 400
naming that field as `expected`; a value inside may get a 2xx or a 4xx (a derived amount out of range).

- integers: the field's own bounds and one past them, 2^63 - 1, -2^63, and one past 64 bits either way;
- decimals (`format: decimal` strings): huge exponents (1e999999 made the first mock stall for a minute), more
  digits than any amount has, more than 12 decimal places, and the largest value the field's pattern allows;
- path IDs: `ID%2F<segment>` (an encoded slash is part of an ID, never a separator: `in_X%2Fvoid` must not void
  `in_X`), and an empty segment or a trailing `/` (404 `Unrecognized request URL`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from contracts.loader import Operation
from contracts.validation import is_empty_marker, schema_branches, schema_type, value_shape
from strategies.requests import ApiRequest, Expected, Refs, valid_requests
from wire.errors import PARAMETER_INVALID_INTEGER

__all__ = ["EXTREME_DECIMALS", "decimal_extremes", "extreme_slots", "integer_extremes",
           "one_field_extreme_requests", "path_variants", "within"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EXTREME_DECIMALS = ("1e999999", "1e300000", "1E20", "9" * 30, "0." + "0" * 12 + "1", "1." + "1" * 13,
                    "-9" + "9" * 25)
"""Decimals no Stripe field accepts (exponents, too many digits or places) that a naive parser takes."""

Location = tuple[str | int, ...]


def integer_extremes(schema: Mapping[str, Any]) -> list[int | str]:
    """The extremes of an integer field: its bounds, one past them, and the 64-bit edges and beyond."""
    low, high = schema.get("minimum"), schema.get("maximum")
    values: list[int | str] = [INT64_MAX, INT64_MIN, str(INT64_MAX + 1), str(INT64_MIN - 1)]
    for bound in (low, high):
        if bound is not None:
            values += [bound, bound - 1, bound + 1]
    return list(dict.fromkeys(values))


def decimal_extremes(schema: Mapping[str, Any]) -> list[str]:
    """The extremes of a decimal string: `EXTREME_DECIMALS` plus the largest value its pattern allows."""
    values = list(EXTREME_DECIMALS)
    found = re.fullmatch(r"\^(-\?)?\[0-9\]\{1,(\d+)\}\(\\\.\[0-9\]\{1,(\d+)\}\)\?\$", schema.get("pattern", ""))
    if found is not None:
        digits, places = int(found.group(2)), int(found.group(3))
        values.append("9" * digits + "." + "9" * places)
    return values


def within(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether the contract accepts `value` for a field of `schema` (integer bounds and int64, decimal pattern)."""
    if schema_type(schema) == "integer":
        number = int(value)
        low, high = schema.get("minimum", INT64_MIN), schema.get("maximum", INT64_MAX)
        return max(low, INT64_MIN) <= number <= min(high, INT64_MAX)
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, str(value), re.ASCII) is not None


def _render(loc: Location) -> str:
    head, *rest = loc
    return str(head) + "".join(f"[{step}]" for step in rest)


def _scalar_branch(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The integer or decimal alternative of a field, when it has exactly one."""
    branches = schema_branches(schema)
    candidates = [b for b in branches if not is_empty_marker(b)] if branches is not None else [schema]
    found = [b for b in candidates if (schema_type(b) == "integer" and "enum" not in b)
             or (schema_type(b) == "string" and b.get("format") == "decimal")]
    return found[0] if len(found) == 1 else None


def extreme_slots(schema: Mapping[str, Any], value: Any, loc: Location = ()) -> list[tuple[Location, Mapping]]:
    """Where one field of `value` (valid for `schema`) can be made extreme: integer and decimal fields present in
    it, and the optional ones of the objects it has (at any depth), with the schema of each."""
    out: list[tuple[Location, Mapping]] = []
    branches = schema_branches(schema)
    if branches is not None:
        real = [b for b in branches if not is_empty_marker(b) and value_shape(value) in _shapes(b)]
        return extreme_slots(real[0], value, loc) if len(real) == 1 else out
    kind = schema_type(schema)
    if kind == "object" and isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            scalar = _scalar_branch(sub)
            if scalar is not None:
                out.append(((*loc, name), scalar))
            elif name in value:
                out += extreme_slots(sub, value[name], (*loc, name))
    elif kind == "array" and isinstance(value, list) and value:
        out += extreme_slots(schema.get("items") or {}, value[0], (*loc, 0))
    return out


def _shapes(schema: Mapping[str, Any]) -> set[str]:
    kind = schema_type(schema)
    return {"object"} if kind == "object" else {"array"} if kind == "array" else {"scalar"}


def _set(params: Mapping[str, Any], loc: Location, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in params.items()}
    node: Any = out
    for step in loc[:-1]:
        child = node[step]
        child = dict(child) if isinstance(child, dict) else list(child)
        node[step] = child
        node = child
    node[loc[-1]] = value
    return out


def one_field_extreme_requests(op: Operation, refs: Refs) -> SearchStrategy[ApiRequest]:
    """A valid request of `op` with exactly one integer or decimal field at an extreme value (the label names
    which). Raises `MissingReference` like `valid_requests` when the pools lack an object `op` needs."""

    def plant(req: ApiRequest) -> SearchStrategy[ApiRequest]:
        choices = []
        for loc, schema in extreme_slots(op.request_schema, dict(req.params)):
            extremes = integer_extremes(schema) if schema_type(schema) == "integer" else decimal_extremes(schema)
            choices += [(loc, schema, value) for value in extremes]
        if not choices:
            return st.just(req)

        def build(choice: tuple[Location, Mapping[str, Any], Any]) -> ApiRequest:
            loc, schema, value = choice
            param = _render(loc)
            expected = None
            if not within(schema, value):  # outside what the contract allows: the one defect, so a 400 naming it
                code = PARAMETER_INVALID_INTEGER if schema_type(schema) == "integer" else None
                expected = Expected(param=param, code=code)
            return replace(req, params=_set(req.params, loc, value), kind="invalid", expected=expected,
                           label=f"one field extreme: {param}={str(value)[:40]}")

        return st.sampled_from(choices).map(build)

    return valid_requests(op, refs).flatmap(plant)


def path_variants(op: Operation, path_params: Mapping[str, str]) -> list[tuple[str, str]]:
    """(label, path) pairs for `op` with one path ID made odd; every one must be a 404."""
    if not op.path_params:
        return [("trailing '/'", op.path + "/"), ("empty segment", op.path.replace("/v1/", "/v1//", 1))]
    out = []
    first = op.path_params[0]
    for label, odd in (("encoded slash then an action", "void"), ("encoded slash then a segment", "lines"),
                       ("encoded slash at the end", "")):
        ids = {**path_params, first: f"{path_params[first]}%2F{odd}"}
        out.append((f"{label}: {first}={ids[first]}", _fill(op.path, ids)))
    out.append((f"empty {first}", _fill(op.path, {**path_params, first: ""})))
    out.append(("trailing '/'", _fill(op.path, dict(path_params)) + "/"))
    return out


def _fill(template: str, values: Mapping[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], template)
