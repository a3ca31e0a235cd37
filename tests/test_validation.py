"""Tests for contracts.validation: the mock must reject bad params with Stripe's code and exact param path."""

from __future__ import annotations

import ast
import copy
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.validation import validate
from wire.codec import decode, encode
from wire.errors import (
    ERROR_CODES,
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

EMPTY = {"type": "string", "enum": [""]}


def emptyable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, EMPTY]}


METADATA = emptyable(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 500},
        "maxProperties": 50,
        "x-key-max-length": 40,
    }
)

CREATED = {
    "anyOf": [
        {
            "type": "object",
            "properties": {"gt": {"type": "integer"}, "lte": {"type": "integer"}},
            "additionalProperties": False,
        },
        {"type": "integer"},
    ]
}

INVOICE = {
    "type": "object",
    "properties": {
        "customer": {"type": "string", "maxLength": 20},
        "description": {"type": "string", "maxLength": 50},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "auto_advance": {"type": "boolean"},
        "percent": {"type": "number", "minimum": 0, "maximum": 100},
        "collection_method": {"type": "string", "enum": ["charge_automatically", "send_invoice"]},
        "days_until_due": emptyable({"type": "integer"}),
        "footer": emptyable({"type": "string", "maxLength": 5000}),
        "tax_behavior": emptyable({"type": "string", "enum": ["exclusive", "inclusive"]}),
        "default_tax_rates": emptyable({"type": "array", "items": {"type": "string", "maxLength": 5000}}),
        "expand": {"type": "array", "items": {"type": "string", "maxLength": 10}, "maxItems": 3},
        "metadata": METADATA,
        "created": CREATED,
        "settings": {
            "type": "object",
            "properties": {"footer": {"type": "string"}},
            "additionalProperties": False,
        },
        "extra": {"type": "object", "additionalProperties": True},
        "anything": {},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "price": {"type": "string", "maxLength": 5000},
                    "quantity": {"type": "integer"},
                    "period": {
                        "type": "object",
                        "properties": {"end": {"type": "integer"}, "start": {"type": "integer"}},
                        "required": ["end", "start"],
                    },
                },
            },
        },
    },
    "required": ["customer"],
    "additionalProperties": False,
}


def rejects(params: dict[str, Any], schema: dict[str, Any] = INVOICE) -> ParamError:
    with pytest.raises(ParamError) as info:
        validate(params, schema)
    return info.value


def with_customer(**params: Any) -> dict[str, Any]:
    return {"customer": "cus_1", **params}


# --------------------------------------------------------------------------- happy path and coercion


def test_valid_request_is_coerced_into_a_new_value() -> None:
    params = with_customer(
        limit="10",
        auto_advance="false",
        percent="12.5",
        collection_method="send_invoice",
        days_until_due="",
        expand=["a", "b"],
        metadata={"order": "42", "gone": ""},
        created={"gt": "1700000000"},
        lines=[{"price": "p_1", "quantity": "2", "period": {"end": "20", "start": "10"}}],
        extra={"free": {"form": "x"}},
        anything="whatever",
    )
    before = copy.deepcopy(params)
    result = validate(params, INVOICE)
    assert result == with_customer(
        limit=10,
        auto_advance=False,
        percent=12.5,
        collection_method="send_invoice",
        days_until_due="",
        expand=["a", "b"],
        metadata={"order": "42", "gone": ""},
        created={"gt": 1700000000},
        lines=[{"price": "p_1", "quantity": 2, "period": {"end": 20, "start": 10}}],
        extra={"free": {"form": "x"}},
        anything="whatever",
    )
    assert params == before  # input untouched
    assert result is not params
    assert result["lines"] is not params["lines"]
    assert result["extra"] is not params["extra"]


def test_already_typed_values_are_accepted() -> None:
    result = validate(
        with_customer(limit=5, auto_advance=True, percent=2, lines=[{"quantity": -3}], description=7),
        INVOICE,
    )
    assert result == with_customer(
        limit=5, auto_advance=True, percent=2.0, lines=[{"quantity": -3}], description="7"
    )


def test_top_level_can_be_validated_at_a_nested_path() -> None:
    with pytest.raises(ParamError) as info:
        validate(
            {"end": "x", "start": "1"},
            INVOICE["properties"]["lines"]["items"]["properties"]["period"],
            path="lines[3][period]",
        )
    assert (info.value.code, info.value.param) == (PARAMETER_INVALID_INTEGER, "lines[3][period][end]")


# --------------------------------------------------------------------------- parameter_unknown


def test_unknown_top_level_parameter() -> None:
    error = rejects(with_customer(foo="1"))
    assert (error.code, error.param) == (PARAMETER_UNKNOWN, "foo")
    assert error.message == "Received unknown parameter: foo"


def test_unknown_nested_parameter() -> None:
    error = rejects(with_customer(lines=[{"price": "p"}, {"foo": "1"}]))
    assert (error.code, error.param) == (PARAMETER_UNKNOWN, "lines[1][foo]")
    assert error.message == "Received unknown parameter: lines[1][foo]"


def test_object_without_additional_properties_is_closed() -> None:
    error = rejects(with_customer(created={"gt": "1", "gte": "2"}))
    assert (error.code, error.param) == (PARAMETER_UNKNOWN, "created[gte]")


def test_first_unknown_in_request_order_is_reported() -> None:
    error = rejects({"zeta": "1", "customer": "c", "alpha": "2"})
    assert error.param == "zeta"


# --------------------------------------------------------------------------- parameter_missing


def test_missing_top_level_parameter() -> None:
    error = rejects({"limit": "5"})
    assert (error.code, error.param) == (PARAMETER_MISSING, "customer")
    assert error.message == "Missing required param: customer."


def test_missing_nested_parameter() -> None:
    error = rejects(with_customer(lines=[{"period": {"end": "1", "start": "0"}}, {"period": {"start": "1"}}]))
    assert (error.code, error.param) == (PARAMETER_MISSING, "lines[1][period][end]")
    assert error.message == "Missing required param: lines[1][period][end]."


def test_missing_is_reported_before_unknown() -> None:
    error = rejects({"foo": "1"})
    assert (error.code, error.param) == (PARAMETER_MISSING, "customer")


def test_none_counts_as_absent() -> None:
    error = rejects({"customer": None})
    assert (error.code, error.param) == (PARAMETER_MISSING, "customer")


# --------------------------------------------------------------------------- parameter_invalid_integer


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "This value must be greater than or equal to 1 (it currently is '0')."),
        ("101", "This value must be less than or equal to 100 (it currently is '101')."),
        ("-1", "This value must be greater than or equal to 1 (it currently is '-1')."),
        ("abc", "Invalid integer: abc"),
        ("1.0", "Invalid integer: 1.0"),
        (" 1", "Invalid integer:  1"),
        ("1e3", "Invalid integer: 1e3"),
        ("+1", "Invalid integer: +1"),
        ("\u0661", "Invalid integer: \u0661"),  # ARABIC-INDIC DIGIT ONE: not ASCII
        ("99999999999999999999", "Invalid integer: 99999999999999999999"),
        (True, "Invalid integer: true"),  # bool is not an int
        (1.5, "Invalid integer: 1.5"),
    ],
)
def test_limit_invalid_integer(value: Any, message: str) -> None:
    error = rejects(with_customer(limit=value))
    assert (error.code, error.param, error.message) == (PARAMETER_INVALID_INTEGER, "limit", message)


@pytest.mark.parametrize("value", ["1", "100", "50", 1, 100])
def test_limit_bounds_are_inclusive(value: Any) -> None:
    assert validate(with_customer(limit=value), INVOICE)["limit"] == int(value)


def test_nested_non_integer() -> None:
    error = rejects(with_customer(lines=[{"period": {"end": "soon", "start": "1"}}]))
    assert (error.code, error.param) == (PARAMETER_INVALID_INTEGER, "lines[0][period][end]")
    assert error.message == "Invalid integer: soon"


def test_integer_rejects_a_hash() -> None:
    error = rejects(with_customer(limit={"a": "1"}))
    assert (error.code, error.param) == (PARAMETER_INVALID_INTEGER, "limit")


# --------------------------------------------------------------------------- parameter_invalid_empty


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"customer": ""}, "customer"),  # required, even though it is a string
        (with_customer(limit=""), "limit"),  # integer
        (with_customer(auto_advance=""), "auto_advance"),  # boolean
        (with_customer(percent=""), "percent"),  # number
        (with_customer(collection_method=""), "collection_method"),  # enum without ""
        (with_customer(settings=""), "settings"),  # object without the emptyable alternative
        (with_customer(expand=""), "expand"),  # array without the emptyable alternative
        (with_customer(lines=[{"period": {"end": "", "start": "1"}}]), "lines[0][period][end]"),
    ],
)
def test_invalid_empty(params: dict[str, Any], param: str) -> None:
    error = rejects(params)
    assert (error.code, error.param) == (PARAMETER_INVALID_EMPTY, param)
    assert f"You passed an empty string for '{param}'" in error.message


def test_empty_string_is_fine_for_an_optional_plain_string() -> None:
    assert validate(with_customer(description=""), INVOICE)["description"] == ""


@pytest.mark.parametrize(
    "name", ["days_until_due", "footer", "tax_behavior", "default_tax_rates", "metadata"]
)
def test_emptyable_any_of_keeps_empty_string(name: str) -> None:
    assert validate(with_customer(**{name: ""}), INVOICE)[name] == ""


def test_typed_empty_containers_mean_empty_string() -> None:
    # {} and [] are what the codec sends as "", so they are judged as "".
    assert validate(with_customer(metadata={}, default_tax_rates=[]), INVOICE) == with_customer(
        metadata="", default_tax_rates=""
    )
    error = rejects(with_customer(settings={}))
    assert (error.code, error.param) == (PARAMETER_INVALID_EMPTY, "settings")


def test_required_property_may_be_empty_only_if_schema_says_so() -> None:
    schema = {"type": "object", "properties": {"x": emptyable({"type": "integer"})}, "required": ["x"]}
    assert validate({"x": ""}, schema) == {"x": ""}


# --------------------------------------------------------------------------- string rules


def test_string_too_long() -> None:
    error = rejects({"customer": "c" * 21})
    assert (error.code, error.param) == (PARAMETER_INVALID_STRING_TOO_LONG, "customer")


def test_array_item_too_long_names_the_index() -> None:
    error = rejects(with_customer(expand=["ok", "x" * 11]))
    assert (error.code, error.param) == (PARAMETER_INVALID_STRING_TOO_LONG, "expand[1]")


def test_min_length() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "minLength": 3}}}
    assert rejects({"code": "ab"}, schema).code == PARAMETER_INVALID
    assert rejects({"code": ""}, schema).code == PARAMETER_INVALID_EMPTY
    assert validate({"code": "abc"}, schema) == {"code": "abc"}


def test_length_counts_characters_not_bytes() -> None:
    assert validate({"customer": "é" * 20}, INVOICE) == {"customer": "é" * 20}


def test_string_rejects_a_hash() -> None:
    error = rejects(with_customer(description={"a": "b"}))
    assert (error.code, error.param) == (PARAMETER_INVALID, "description")


# --------------------------------------------------------------------------- enum


def test_bad_enum_value() -> None:
    error = rejects(with_customer(collection_method="sometimes"))
    assert (error.code, error.param) == (PARAMETER_INVALID, "collection_method")
    assert error.message == "Invalid collection_method: must be one of charge_automatically or send_invoice"


def test_bad_enum_value_inside_emptyable() -> None:
    error = rejects(with_customer(tax_behavior="neither"))
    assert (error.code, error.param) == (PARAMETER_INVALID, "tax_behavior")


# --------------------------------------------------------------------------- numbers and booleans


@pytest.mark.parametrize(("value", "expected"), [("-1.5", None), ("2", 2.0), ("0.25", 0.25), (3, 3.0)])
def test_number_accepts_plain_decimals(value: Any, expected: float | None) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number"}}}
    result = validate({"n": value}, schema)["n"]
    assert isinstance(result, float)
    assert result == (expected if expected is not None else -1.5)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e3", "abc", "1.2.3", "--1", float("nan"), True])
def test_number_rejects(value: Any) -> None:
    error = rejects(with_customer(percent=value))
    assert (error.code, error.param) == (PARAMETER_INVALID_NUMBER, "percent")


def test_number_range() -> None:
    error = rejects(with_customer(percent="100.5"))
    assert (error.code, error.param) == (PARAMETER_INVALID_NUMBER, "percent")


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("false", False), (True, True), (False, False)]
)
def test_boolean_accepts(value: Any, expected: bool) -> None:
    assert validate(with_customer(auto_advance=value), INVOICE)["auto_advance"] is expected


@pytest.mark.parametrize("value", ["True", "1", "0", "yes", " true", 1])
def test_boolean_rejects(value: Any) -> None:
    error = rejects(with_customer(auto_advance=value))
    assert (error.code, error.param) == (PARAMETER_INVALID_BOOLEAN, "auto_advance")


# --------------------------------------------------------------------------- shapes and arrays


@pytest.mark.parametrize(("params", "param", "message"), [
    pytest.param({"settings": "abc"}, "settings", None, id="object expected, got a string"),
    pytest.param({"settings": ["a"]}, "settings", None, id="object expected, got a list"),
    pytest.param({"expand": {"a": "b"}}, "expand", "Invalid array: expand must be a list",
                 id="array expected, got an object"),
    pytest.param({"expand": "data.customer"}, "expand", None, id="array expected, got a scalar"),
    pytest.param({"lines": ["p_1"]}, "lines[0]", None, id="array item of the wrong shape"),
])
def test_a_value_of_the_wrong_shape_is_invalid(params: dict[str, Any], param: str, message: str | None) -> None:
    error = rejects(with_customer(**params))
    assert (error.code, error.param) == (PARAMETER_INVALID, param)
    assert message is None or error.message == message


def test_array_max_items() -> None:
    assert validate(with_customer(expand=["a", "b", "c"]), INVOICE)["expand"] == ["a", "b", "c"]
    error = rejects(with_customer(expand=["a", "b", "c", "d"]))
    assert (error.code, error.param) == (PARAMETER_INVALID, "expand")


# --------------------------------------------------------------------------- metadata


def test_metadata_key_count_limit() -> None:
    fifty = {f"k{i}": "v" for i in range(50)}
    assert validate(with_customer(metadata=fifty), INVOICE)["metadata"] == fifty
    error = rejects(with_customer(metadata={**fifty, "one_more": "v"}))
    assert (error.code, error.param) == (PARAMETER_INVALID, "metadata")


def test_metadata_key_length_limit() -> None:
    assert validate(with_customer(metadata={"k" * 40: "v"}), INVOICE)
    key = "k" * 41
    error = rejects(with_customer(metadata={key: "v"}))
    assert (error.code, error.param) == (PARAMETER_INVALID, f"metadata[{key}]")


def test_metadata_value_length_limit() -> None:
    assert validate(with_customer(metadata={"note": "v" * 500}), INVOICE)
    error = rejects(with_customer(metadata={"note": "v" * 501}))
    assert (error.code, error.param) == (PARAMETER_INVALID_STRING_TOO_LONG, "metadata[note]")


def test_metadata_empty_value_removes_a_key() -> None:
    assert validate(with_customer(metadata={"gone": ""}), INVOICE)["metadata"] == {"gone": ""}


def test_metadata_value_must_be_a_string() -> None:
    error = rejects(with_customer(metadata={"a": {"b": "c"}}))
    assert (error.code, error.param) == (PARAMETER_INVALID, "metadata[a]")


# --------------------------------------------------------------------------- anyOf error choice


@pytest.mark.parametrize(("params", "code", "param", "message"), [
    pytest.param({"created": {"gt": "soon"}}, PARAMETER_INVALID_INTEGER, "created[gt]", None,
                 id="a hash value: the object branch"),
    pytest.param({"created": "soon"}, PARAMETER_INVALID_INTEGER, "created", None,
                 id="a string value: the scalar branch"),
    pytest.param({"days_until_due": "soon"}, PARAMETER_INVALID_INTEGER, "days_until_due", "Invalid integer: soon",
                 id="a string value: the scalar branch, not the empty marker"),
    pytest.param({"default_tax_rates": ["x" * 5001]}, PARAMETER_INVALID_STRING_TOO_LONG, "default_tax_rates[0]",
                 None, id="a list value: the array branch"),
    pytest.param({"metadata": "abc"}, PARAMETER_INVALID, "metadata", "Invalid object: metadata must be a hash",
                 id="a plain string for metadata: the object branch"),
])
def test_any_of_error_speaks_for_the_branch_of_the_value_shape(params: dict[str, Any], code: str, param: str,
                                                               message: str | None) -> None:
    error = rejects(with_customer(**params))
    assert (error.code, error.param) == (code, param)
    assert message is None or error.message == message


def test_any_of_first_accepting_branch_wins() -> None:
    schema = {"type": "object", "properties": {"v": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}}
    assert validate({"v": "12"}, schema) == {"v": 12}
    assert validate({"v": "twelve"}, schema) == {"v": "twelve"}


# --------------------------------------------------------------------------- additionalProperties


def test_additional_properties_schema_validates_extra_keys() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert validate({"a": "1"}, schema) == {"a": 1}
    error = rejects({"a": "x"}, schema)
    assert (error.code, error.param) == (PARAMETER_INVALID_INTEGER, "a")


def test_additional_properties_true_passes_extras_through() -> None:
    assert validate(with_customer(extra={"x": ["1"]}), INVOICE)["extra"] == {"x": ["1"]}


# --------------------------------------------------------------------------- plumbing


def _raised_codes() -> list[tuple[str, str]]:
    """(where, code) for every ``ParamError(code, ...)`` our packages construct, read with `ast` (a code given as a
    name is looked up in `wire.errors`; anything else is kept as its source text, so it shows as unlisted)."""
    from wire import errors

    root = Path(__file__).resolve().parent.parent
    found = []
    for package in ("wire", "contracts", "strategies", "mockserver", "harness"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ParamError" and node.args:
                    first = node.args[0]
                    code = (getattr(errors, first.id, first.id) if isinstance(first, ast.Name) else
                            first.value if isinstance(first, ast.Constant) else ast.unparse(first))
                    found.append((f"{path.relative_to(root)}:{node.lineno}", code))
    return found


def test_the_error_code_table_is_complete() -> None:
    """`ERROR_CODES` documents exactly the codes raised: every ParamError the code builds names a listed code, and
    every listed code is raised somewhere (no stale entry)."""
    raised = _raised_codes()
    assert len(raised) >= 20, raised
    unlisted = [(where, code) for where, code in raised if code not in ERROR_CODES]
    assert unlisted == [], f"codes raised but missing from wire.errors.ERROR_CODES: {unlisted}"
    assert set(ERROR_CODES) == {code for _, code in raised}
    assert {PARAMETER_UNKNOWN, PARAMETER_MISSING, PARAMETER_INVALID_EMPTY, PARAMETER_INVALID_INTEGER,
            PARAMETER_INVALID_NUMBER, PARAMETER_INVALID_BOOLEAN, PARAMETER_INVALID_STRING_TOO_LONG,
            PARAMETER_INVALID} == set(ERROR_CODES)


def test_param_error_fields() -> None:
    error = rejects({"limit": "5"})
    assert str(error) == error.message
    assert error.to_dict() == {
        "type": "invalid_request_error",
        "code": "parameter_missing",
        "param": "customer",
        "message": "Missing required param: customer.",
    }


def test_unresolved_ref_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="ref"):
        validate({"m": {}}, {"type": "object", "properties": {"m": {"$ref": "#/components/schemas/x"}}})


# --------------------------------------------------------------------------- wire equivalence

typed_requests = st.fixed_dictionaries(
    {"customer": st.text(string.ascii_letters, min_size=1, max_size=25)},
    optional={
        "limit": st.one_of(st.integers(-5, 120), st.booleans()),
        "auto_advance": st.one_of(st.booleans(), st.integers(0, 1)),
        "percent": st.one_of(st.floats(-10, 110, allow_nan=False), st.integers(-10, 110)),
        "collection_method": st.sampled_from(["charge_automatically", "send_invoice", "x", ""]),
        "metadata": st.dictionaries(
            st.text(string.ascii_lowercase, min_size=1, max_size=42), st.text(max_size=3), max_size=3
        ),
        "expand": st.lists(st.text(string.ascii_lowercase, max_size=12), max_size=4),
        "lines": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "quantity": st.one_of(st.integers(-3, 3), st.booleans()),
                    "period": st.fixed_dictionaries(
                        {"end": st.integers(0, 9)}, optional={"start": st.integers()}
                    ),
                },
            ),
            max_size=3,
        ),
    },
)


def outcome(params: dict[str, Any]) -> Any:
    try:
        return validate(params, INVOICE)
    except ParamError as error:
        return (error.code, error.param)


@settings(max_examples=150, deadline=None)
@given(params=typed_requests)
def test_typed_values_are_judged_like_their_wire_form(params: dict[str, Any]) -> None:
    """validate(x) must agree with what the mock sees after the codec round trip."""
    assert outcome(params) == outcome(decode(encode(params)))
