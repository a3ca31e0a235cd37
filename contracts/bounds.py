"""Numeric bounds of request fields, written into the contract so the mock refuses out-of-range values cheaply
(a 400 naming the param) and the strategies know where the edges are.

Sources, all Stripe's own words (the `stripe` package's field docstrings, which mirror the API reference):
- amounts in the smallest currency unit: "The amount value supports up to eight digits (e.g., a value of 99999999
  for a USD charge of $999,999.99)", so at most 99,999,999 either way (negative amounts are credits where the
  field's description says so);
- decimal fields: "accepts a decimal value ... with at most 12 decimal places" (or the number the field names),
  written as plain decimals (no exponent); their whole part is bounded like the integer they stand for (8 digits
  for an amount in cents, 12 otherwise: Stripe stores decimals with 12 digits on each side of the point);
- a field's own description: "between A and B", "Non-negative", "A positive integer", "Must be greater than 0";
- every other integer is a signed 64-bit integer (`format: int64`), as in Stripe's OpenAPI specification.

`integer_bounds`, `decimal_bounds` and `number_bounds` give the keywords for one field; `apply_bounds` adds them
to a field's schema (including the branches of an `anyOf`). `field_docs` reads the descriptions.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_AMOUNT = 99_999_999
"""Stripe: "The amount value supports up to eight digits (e.g., a value of 99999999 ...)"."""
AMOUNT_DIGITS = len(str(MAX_AMOUNT))
DECIMAL_DIGITS = 12
"""Digits on each side of the point of a decimal field that is not an amount."""
DECIMAL_PLACES = 12
"""Stripe: "accepts a decimal value ... with at most 12 decimal places" (the default of every decimal field)."""

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10, "twelve": 12}
_PLACES = re.compile(r"at most (\d+|[a-z]+) decimal places")
_BETWEEN = re.compile(r"between (-?[\d,]+) and (-?[\d,]+)")


def is_amount(name: str) -> bool:
    """An amount in the smallest currency unit (cents): `amount`, `unit_amount`, `amount_gte`, `*_amount`."""
    return name in ("amount", "unit_amount", "amount_gte", "unit_amount_decimal") or name.endswith("_amount")


def _sign_floor(doc: str) -> int | None:
    """The lowest value a field's description allows: 0 for non-negative, 1 for positive, None if it says
    nothing (or also allows negatives, e.g. "a negative integer representing the amount to credit")."""
    text = doc.lower()
    if "non-negative" in text or "(or 0" in text:
        return 0
    allows_negative = "negative" in text.replace("non-negative", "")
    if not allows_negative and ("positive" in text or "greater than 0" in text):
        return 1
    return None


def _between(doc: str) -> tuple[int, int] | None:
    found = _BETWEEN.search(doc.lower())
    if found is None:
        return None
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


def integer_bounds(name: str, doc: str = "") -> dict[str, Any]:
    """`format`, `minimum` and `maximum` of an integer field."""
    low, high = INT64_MIN, INT64_MAX
    if is_amount(name):
        low, high = -MAX_AMOUNT, MAX_AMOUNT
    floor = _sign_floor(doc)
    if floor is not None:
        low = max(low, floor)
    between = _between(doc)
    if between is not None:
        low, high = max(low, between[0]), min(high, between[1])
    out: dict[str, Any] = {"format": "int64"}
    if low != INT64_MIN:
        out["minimum"] = low
    if high != INT64_MAX:
        out["maximum"] = high
    return out


def decimal_places(doc: str) -> int:
    found = _PLACES.search(doc.lower())
    if found is None:
        return DECIMAL_PLACES
    word = found.group(1)
    return int(word) if word.isdigit() else _WORDS.get(word, DECIMAL_PLACES)


def decimal_bounds(name: str, doc: str = "") -> dict[str, Any]:
    """A `pattern` for a decimal string field: an optional sign (unless non-negative), at most 8 (amounts) or 12
    digits before the point and the documented number of places after it; no exponent, no spaces."""
    digits = AMOUNT_DIGITS if is_amount(name) else DECIMAL_DIGITS
    sign = "" if _sign_floor(doc) is not None else "-?"
    places = decimal_places(doc)
    return {"pattern": f"^{sign}[0-9]{{1,{digits}}}(\\.[0-9]{{1,{places}}})?$"}


def number_bounds(name: str, doc: str = "") -> dict[str, Any]:
    """`minimum`/`maximum` of a number field (percentages: "between 0 and 100")."""
    out: dict[str, Any] = {}
    between = _between(doc)
    floor = _sign_floor(doc)
    if floor is not None:
        out["minimum"] = 0
    if between is not None:
        out["minimum"], out["maximum"] = between
    return out


def apply_bounds(schema: dict[str, Any], name: str, doc: str = "") -> dict[str, Any]:
    """Add the bounds of field `name` to its schema in place (scalar branches of an anyOf too); returns it."""
    for branch in schema.get("anyOf", []):
        apply_bounds(branch, name, doc)
    kind = schema.get("type")
    if kind == "integer" and "enum" not in schema:
        schema.update(integer_bounds(name, doc))
    elif kind == "number":
        schema.update(number_bounds(name, doc))
    elif kind == "string" and schema.get("format") == "decimal":
        schema.update(decimal_bounds(name, doc))
    return schema


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The description of each field of a TypedDict class: the string literal right after its annotation."""
    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr) \
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs
