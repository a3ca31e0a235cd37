"""strategies.extremes: one-field-extreme requests change exactly one field, expect a 400 naming it exactly when
the value is outside the contract, and odd path IDs keep the encoded slash inside the ID."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.loader import load_contract
from strategies import Refs
from strategies.extremes import (
    EXTREME_DECIMALS,
    decimal_extremes,
    extreme_slots,
    integer_extremes,
    one_field_extreme_requests,
    path_variants,
    within,
)
from wire.codec import encode

CONTRACT = load_contract()


def test_integer_extremes_cover_bounds_and_64_bits() -> None:
    values = integer_extremes({"type": "integer", "minimum": 0, "maximum": 100})
    assert {0, -1, 1, 100, 99, 101, 2**63 - 1, -(2**63), str(2**63), str(-(2**63) - 1)} <= set(values)
    assert within({"type": "integer", "maximum": 100}, 100) and not within({"type": "integer", "maximum": 100}, 101)
    assert not within({"type": "integer"}, str(2**63)) and within({"type": "integer"}, 2**63 - 1)


def test_decimal_extremes_include_the_largest_the_pattern_allows() -> None:
    schema = {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]{1,8}(\.[0-9]{1,12})?$"}
    values = decimal_extremes(schema)
    assert "99999999.999999999999" in values and set(EXTREME_DECIMALS) <= set(values)
    assert within(schema, "99999999.999999999999")
    assert not any(within(schema, value) for value in EXTREME_DECIMALS)


def test_slots_find_nested_and_absent_optional_fields() -> None:
    op = CONTRACT["AddInvoiceLines"]
    slots = {loc for loc, _ in extreme_slots(op.request_schema, {"lines": [{"amount": 5}]})}
    assert ("lines", 0, "amount") in slots and ("lines", 0, "quantity") in slots


@settings(max_examples=30, suppress_health_check=list(HealthCheck), deadline=None)
@given(data=st.data())
def test_one_field_extreme_sets_the_named_field(data: st.DataObject) -> None:
    op = CONTRACT["CreateInvoiceItem"]
    refs = Refs().with_ids("customer", "cus_1").with_ids("invoice:draft", "in_1", customer="cus_1", currency="usd")
    req = data.draw(one_field_extreme_requests(op, refs))
    assert req.label.startswith("one field extreme: ")
    param, shown = req.label.removeprefix("one field extreme: ").split("=", 1)
    sent = dict(encode(req.params))
    assert sent[param][:40] == shown
    if req.expected is not None:
        assert req.expected.param == param and req.expected.status == 400


def test_path_variants_keep_the_slash_encoded_and_leave_empty_segments() -> None:
    op = CONTRACT["UpdateInvoice"]
    variants = dict(path_variants(op, {"invoice": "in_1"}))
    assert "/v1/invoices/in_1%2Fvoid" in variants.values()
    assert "/v1/invoices/" in variants.values() and "/v1/invoices/in_1/" in variants.values()
    listing = dict(path_variants(CONTRACT["ListInvoices"], {}))
    assert set(listing.values()) == {"/v1/invoices/", "/v1//invoices"}
