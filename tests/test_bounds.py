"""The numeric bounds the contract carries (contracts/bounds.py): read from Stripe's field descriptions, and
present on every integer and decimal request field of the contract."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.bounds import (
    INT64_MAX,
    MAX_AMOUNT,
    apply_bounds,
    decimal_bounds,
    decimal_places,
    field_docs,
    integer_bounds,
    number_bounds,
)
from contracts.loader import load_contract


@pytest.mark.parametrize(("name", "doc", "expected"), [
    ("amount", "The integer amount in cents. Passing in a negative `amount` will reduce the `amount_due`.",
     {"format": "int64", "minimum": -MAX_AMOUNT, "maximum": MAX_AMOUNT}),
    ("unit_amount", "A non-negative integer in cents representing how much to charge.",
     {"format": "int64", "minimum": 0, "maximum": MAX_AMOUNT}),
    ("unit_amount", "A positive integer in cents (or 0 for a free price) representing how much to charge.",
     {"format": "int64", "minimum": 0, "maximum": MAX_AMOUNT}),
    ("value", "Must be greater than 0.", {"format": "int64", "minimum": 1}),
    ("expires_after_seconds", "The number of seconds (between 60 and 1209600, inclusive).",
     {"format": "int64", "minimum": 60, "maximum": 1209600}),
    ("due_date", "The date on which payment for this invoice is due.", {"format": "int64"}),
])
def test_integer_bounds_follow_the_description(name: str, doc: str, expected: dict) -> None:
    assert integer_bounds(name, doc) == expected


def test_decimal_bounds() -> None:
    amount = decimal_bounds("unit_amount_decimal", "Same as `unit_amount`, but accepts a decimal value in cents "
                                                   "(or local equivalent) with at most 12 decimal places.")
    assert amount == {"pattern": r"^-?[0-9]{1,8}(\.[0-9]{1,12})?$"}
    quantity = decimal_bounds("quantity_decimal", "Non-negative decimal with at most 12 decimal places.")
    assert quantity == {"pattern": r"^[0-9]{1,12}(\.[0-9]{1,12})?$"}
    assert decimal_places("with at most two decimal places") == 2
    assert decimal_places("no word on places") == 12
    assert number_bounds("percentage", "decimal values between 0 and 100 inclusive") == {"minimum": 0,
                                                                                          "maximum": 100}


def test_apply_bounds_reaches_every_branch() -> None:
    schema = {"anyOf": [{"type": "integer"}, {"type": "string", "enum": [""]}]}
    apply_bounds(schema, "amount")
    assert schema["anyOf"][0]["maximum"] == MAX_AMOUNT and "format" not in schema["anyOf"][1]


def test_field_docs_reads_the_stripe_package() -> None:
    from stripe.params import InvoiceItemCreateParams

    docs = field_docs(InvoiceItemCreateParams)
    assert "12 decimal places" in docs["quantity_decimal"]
    assert docs["amount"]


def _request_leaves(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        if node.get("type") == "integer" or node.get("format") == "decimal":
            yield path, node
        for key, value in node.items():
            yield from _request_leaves(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _request_leaves(value, f"{path}[{n}]")


def test_every_integer_and_decimal_request_field_is_bounded() -> None:
    contract = load_contract()
    seen = 0
    for op in contract.operations.values():
        if op.support:
            continue
        for where, schema in _request_leaves(op.request_schema, op.operation_id):
            seen += 1
            if schema.get("type") == "integer":
                assert "enum" in schema or schema.get("format") == "int64" or "maximum" in schema, where
                assert schema.get("maximum", INT64_MAX) <= INT64_MAX, where
            else:
                pattern = schema.get("pattern")
                assert pattern and re.search(pattern, "1") and not re.search(pattern, "1e999999"), where
    assert seen > 100
