"""Tests for wire.codec: the client and the mock must agree on Stripe's form encoding."""

from __future__ import annotations

import string
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wire import codec
from wire.codec import (
    MAX_ARRAY_INDEX,
    MAX_DEPTH,
    MAX_PAIRS,
    FormError,
    decode,
    decode_body,
    decode_query,
    encode,
    encode_body,
    encode_query,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Identifier-like keys (never all digits: "[<digits>]" always means an array index on the wire).
keys = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_lowercase + "_"),
    st.text(string.ascii_lowercase + string.digits + "_", max_size=11),
)
leaves = st.text(st.characters(codec="utf-8"), max_size=12)
# Non-empty containers only: {} and [] deliberately encode to "" (Stripe's "unset").
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.dictionaries(keys, children, min_size=1, max_size=4),
        st.lists(children, min_size=1, max_size=4),
    ),
    max_leaves=25,
)
params_strategy = st.dictionaries(keys, values, max_size=5)
styles = st.sampled_from(["indexed", "brackets"])


# --------------------------------------------------------------------------- round trips


@FAST
@given(params=params_strategy, style=styles)
def test_round_trips(params: dict[str, Any], style: Any) -> None:
    """One property, every route: pairs, body bytes and query string (str and bytes)."""
    pairs = encode(params, scalar_arrays=style)
    assert decode(pairs) == params
    assert decode_body(encode_body(params, scalar_arrays=style)) == params
    query = encode_query(params, scalar_arrays=style)
    assert decode_query(query) == params
    assert decode_query(query.encode("ascii")) == params
    # insertion order of top-level keys survives
    assert list(dict.fromkeys(key.split("[", 1)[0] for key, _ in pairs)) == list(params)


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(("decoder", "inputs"), [
    (decode_body, st.one_of(st.binary(max_size=200), st.text("ab01[]&=%+-é", max_size=60).map(str.encode))),
    (decode_query, st.one_of(st.text(max_size=200), st.text("ab01[]&=%+-é\udc80", max_size=60))),
], ids=["decode_body", "decode_query"])
def test_decoding_only_raises_form_error(decoder: Any, inputs: st.SearchStrategy[Any]) -> None:
    @FAST
    @given(raw=inputs)
    def check(raw: Any) -> None:
        try:
            result = decoder(raw)
        except FormError:
            return
        assert isinstance(result, dict)

    check()


key_pieces = st.lists(
    st.sampled_from(["a", "b", "[0]", "[1]", "[2]", "[]", "[a]", "[b]", "[", "]"]), max_size=5
)


@FAST
@given(pairs=st.lists(st.tuples(key_pieces.map("".join), st.sampled_from(["", "v"])), max_size=8))
def test_decode_structured_pairs_only_raises_form_error(pairs: list[tuple[str, str]]) -> None:
    """Bracket-heavy keys reach the conflict/mixing/sparse paths far more often than random bytes."""
    try:
        result = decode(pairs)
    except FormError:
        return
    assert decode(encode(result)) == result


# --------------------------------------------------------------------------- encoding examples


def test_encode_scalars_render_as_stripe_expects() -> None:
    params = {
        "yes": True,
        "no": False,
        "count": 42,
        "negative": -7,
        "ratio": 0.25,
        "tiny": 1.5e-7,
        "huge": 1e20,
        "price": Decimal("12.50"),
        "sci": Decimal("1E+3"),
        "text": "a b",
        "blank": "",
    }
    assert encode(params) == [
        ("yes", "true"),
        ("no", "false"),
        ("count", "42"),
        ("negative", "-7"),
        ("ratio", "0.25"),
        ("tiny", "0.00000015"),
        ("huge", "100000000000000000000"),
        ("price", "12.50"),
        ("sci", "1000"),
        ("text", "a b"),
        ("blank", ""),
    ]


def test_encode_nesting_and_list_styles() -> None:
    params = {
        "lines": [{"period": {"end": 2, "start": 1}}],
        "expand": ["data.customer", "data.invoice"],
        "grid": [["a"], ["b"]],
    }
    assert encode(params) == [
        ("lines[0][period][end]", "2"),
        ("lines[0][period][start]", "1"),
        ("expand[0]", "data.customer"),
        ("expand[1]", "data.invoice"),
        ("grid[0][0]", "a"),
        ("grid[1][0]", "b"),
    ]
    assert encode(params, scalar_arrays="brackets") == [
        ("lines[0][period][end]", "2"),  # lists of objects stay indexed
        ("lines[0][period][start]", "1"),
        ("expand[]", "data.customer"),
        ("expand[]", "data.invoice"),
        ("grid[0][]", "a"),
        ("grid[1][]", "b"),
    ]


def test_encode_empty_containers_mean_unset_and_none_is_skipped() -> None:
    params = {"metadata": {}, "tax_rates": [], "skipped": None, "inner": {"gone": None, "kept": "x"}}
    assert encode(params) == [("metadata", ""), ("tax_rates", ""), ("inner[kept]", "x")]


def test_encode_compacts_none_list_items_so_indices_stay_dense() -> None:
    assert encode({"a": ["x", None, "y"]}) == [("a[0]", "x"), ("a[1]", "y")]


@pytest.mark.parametrize("bad_key", ["", "a[b", "a]", "[x]"])
def test_encode_rejects_keys_that_cannot_round_trip(bad_key: str) -> None:
    with pytest.raises(FormError):
        encode({"outer": {bad_key: "v"}})


@pytest.mark.parametrize("bad_value", [float("nan"), float("inf"), Decimal("NaN")])
def test_encode_rejects_non_finite_numbers(bad_value: Any) -> None:
    with pytest.raises(FormError):
        encode({"n": bad_value})


def test_encode_rejects_unknown_types_and_styles() -> None:
    with pytest.raises(TypeError):
        encode({"b": b"bytes"})
    with pytest.raises(ValueError):
        encode({"a": "b"}, scalar_arrays="weird")  # type: ignore[arg-type]


def test_encode_query_and_body_escaping() -> None:
    params = {"q": "a b&c=d+é", "m": {"k": "v"}}
    assert encode_query(params) == "q=a%20b%26c%3Dd%2B%C3%A9&m[k]=v"
    assert encode_body(params) == b"q=a+b%26c%3Dd%2B%C3%A9&m%5Bk%5D=v"


# --------------------------------------------------------------------------- decoding examples


def test_decode_nested_structures() -> None:
    pairs = [
        ("lines[1][price]", "p_2"),
        ("lines[0][price]", "p_1"),
        ("lines[0][period][end]", "9"),
        ("expand[]", "a"),
        ("expand[]", "b"),
        ("metadata", ""),
    ]
    assert decode(pairs) == {
        "lines": [{"price": "p_1", "period": {"end": "9"}}, {"price": "p_2"}],
        "expand": ["a", "b"],
        "metadata": "",
    }


def test_decode_body_form_rules() -> None:
    assert decode_body(b"a=x+y%20z&b=&c&&d=%C3%A9&") == {"a": "x y z", "b": "", "c": "", "d": "é"}
    assert decode_body(b"") == {}


def test_decode_query_accepts_unescaped_brackets_and_unicode_text() -> None:
    assert decode_query("m[k]=é&m%5Bj%5D=2") == {"m": {"k": "é", "j": "2"}}


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ("a[", "a["),
        ("a]b", "a]b"),
        ("a[b]c", "a[b]c"),
        ("[a]", "[a]"),
        ("", ""),
        ("a[b", "a[b"),
        ("a[b]]", "a[b]]"),
        ("a[b[c]]", "a[b[c]]"),
        ("a[][b]", "a[][b]"),
    ],
)
def test_decode_rejects_malformed_keys(raw: str, param: str) -> None:
    with pytest.raises(FormError) as info:
        decode([(raw, "v")])
    assert info.value.param == param


def test_decode_body_rejects_empty_key() -> None:
    with pytest.raises(FormError):
        decode_body(b"=value")


@pytest.mark.parametrize(
    ("pairs", "param"),
    [
        ([("a", "1"), ("a[b]", "2")], "a[b]"),
        ([("a[b]", "2"), ("a", "1")], "a"),
        ([("a", "1"), ("a", "2")], "a"),
        ([("a[0]", "x"), ("a[b]", "y")], "a[b]"),
        ([("a[b]", "y"), ("a[0]", "x")], "a[0]"),
        ([("a[0]", "x"), ("a[0]", "y")], "a[0]"),
        ([("a[0]", "x"), ("a[0][b]", "y")], "a[0][b]"),
        ([("m", ""), ("m[k]", "v")], "m[k]"),
    ],
)
def test_decode_rejects_conflicts(pairs: list[tuple[str, str]], param: str) -> None:
    with pytest.raises(FormError) as info:
        decode(pairs)
    assert info.value.param == param


@pytest.mark.parametrize(
    "pairs",
    [
        [("a[]", "x"), ("a[0]", "y")],
        [("a[0]", "x"), ("a[]", "y")],
        [("a[1]", "x"), ("a[]", "y")],
    ],
)
def test_decode_rejects_mixing_append_and_index(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(FormError, match="mix"):
        decode(pairs)


def test_decode_indices_in_any_order_must_be_dense() -> None:
    assert decode([("a[2]", "z"), ("a[0]", "x"), ("a[1]", "y")]) == {"a": ["x", "y", "z"]}
    with pytest.raises(FormError) as info:
        decode([("a[0]", "x"), ("a[2]", "z")])
    assert info.value.param == "a"
    with pytest.raises(FormError):
        decode([("a[1]", "y")])


def test_decode_sparse_nested_array_reports_its_path() -> None:
    with pytest.raises(FormError) as info:
        decode([("lines[0][tax_rates][1]", "t")])
    assert info.value.param == "lines[0][tax_rates]"


@pytest.mark.parametrize("index", ["01", "00", "-1", "-0"])
def test_decode_rejects_non_canonical_indices(index: str) -> None:
    with pytest.raises(FormError):
        decode([(f"a[{index}]", "x")])


def test_decode_index_limit() -> None:
    dense = [(f"a[{i}]", str(i)) for i in range(MAX_ARRAY_INDEX + 1)]
    assert len(decode(dense)["a"]) == MAX_ARRAY_INDEX + 1
    with pytest.raises(FormError):
        decode([(f"a[{MAX_ARRAY_INDEX + 1}]", "x")])


def test_decode_depth_limit() -> None:
    assert decode([("a" + "[b]" * MAX_DEPTH, "v")])
    with pytest.raises(FormError):
        decode([("a" + "[b]" * (MAX_DEPTH + 1), "v")])


def test_decode_pair_limit() -> None:
    assert len(decode((f"k{i}", "v") for i in range(MAX_PAIRS))) == MAX_PAIRS
    with pytest.raises(FormError, match="Too many"):
        decode((f"k{i}", "v") for i in range(MAX_PAIRS + 1))
    with pytest.raises(FormError, match="Too many"):
        decode_body(b"&".join(b"k%d=v" % i for i in range(MAX_PAIRS + 1)))


@pytest.mark.parametrize("raw", [b"a=%ff", b"%c3=1", b"a=%e2%82"])
def test_decode_body_rejects_invalid_utf8(raw: bytes) -> None:
    with pytest.raises(FormError):
        decode_body(raw)


@pytest.mark.parametrize("raw", [b"a=%", b"a=%4", b"a=%zz", b"%=1"])
def test_decode_body_rejects_broken_percent_escapes(raw: bytes) -> None:
    with pytest.raises(FormError):
        decode_body(raw)


def test_decode_query_rejects_lone_surrogates() -> None:
    with pytest.raises(FormError):
        decode_query("a=\udc80")


def test_digit_keys_always_mean_arrays() -> None:
    # Documented limitation: a metadata key "0" cannot survive the trip as a hash key.
    assert decode(encode({"m": {"0": "x"}})) == {"m": ["x"]}


def test_form_error_is_a_value_error_with_fields() -> None:
    error = FormError("boom", "a[b]")
    assert isinstance(error, ValueError)
    assert (error.message, error.param, str(error)) == ("boom", "a[b]", "boom")


@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=3), children, max_size=3)),
    max_leaves=8).filter(lambda v: isinstance(v, dict)))
def test_wire_form_is_the_round_trip_without_it(params):
    """What the client records as sent equals what the server decodes from the encoding."""
    try:
        round_trip = codec.decode(codec.encode(params))
    except codec.FormError:
        return  # encodings the server refuses (a list item that vanishes leaves a gap) record nothing to compare
    assert codec.wire_form(params) == round_trip
