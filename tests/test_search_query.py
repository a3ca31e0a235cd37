"""Tests for the search query language model (wire.search_query) and its strategies (strategies.search).

The mock answers searches with this model and the suites predict answers with it, so a bug here would
silently make both agree on the wrong thing; these tests pin each grammar rule to concrete outcomes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from strategies.search import malformed_queries, search_queries
from wire.search_query import (
    MAX_CLAUSES,
    SEARCHABLE_FIELDS,
    Clause,
    Query,
    QuerySyntaxError,
    parse,
    quote_string,
)

PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _invoice(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "object": "invoice", "status": "draft", "currency": "usd", "customer": "cus_A", "total": 0,
        "created": 1_700_000_000, "number": None, "receipt_number": None, "metadata": {},
        "last_finalization_error": None, "parent": None,
    }
    return base | fields


INVOICES = [
    _invoice(id="in_draft"),
    _invoice(id="in_open", status="open", customer="cus_B", total=500, created=1_700_000_100,
             number="ABCD-0001", metadata={"order": "42"},
             parent={"type": "subscription_details", "subscription_details": {"subscription": "sub_1"}}),
    _invoice(id="in_paid", status="paid", customer={"id": "cus_A", "object": "customer"}, total=1500,
             created=1_700_000_200, number="ABCD-0002", receipt_number="1234-5678",
             metadata={"order": "43", "tier": "gold", "note": 'say "hi"'}, subscription="sub_2"),
    _invoice(id="in_failed", status="open", currency="eur", total=-200, created=1_700_000_300,
             number="WXYZ-0001", subscription=None,
             parent={"subscription_details": {"subscription": "sub_3"}},
             last_finalization_error={"code": "customer_tax_location_invalid",
                                      "type": "invalid_request_error"}),
]

VALUES: dict[str, list[Any]] = {
    "status": ["draft", "open", "paid"],
    "currency": ["usd", "eur"],
    "customer": ["cus_A", "cus_B"],
    "number": [None, "ABCD-0001", "ABCD-0002", "WXYZ-0001"],
    "receipt_number": [None, "1234-5678"],
    "subscription": ["sub_1", "sub_2", "sub_3"],
    "last_finalization_error_code": ["customer_tax_location_invalid"],
    "last_finalization_error_type": ["invalid_request_error"],
    "total": [0, 500, 1500, -200],
    "created": [1_700_000_000, 1_700_000_100, 1_700_000_200, 1_700_000_300],
    "metadata": [("order", "42"), ("order", "43"), ("tier", "gold"), ("note", 'say "hi"')],
}


def ids(query: str) -> list[str]:
    return [obj["id"] for obj in parse(query).filter(INVOICES)]


# ---------------------------------------------------------------------------------------------- matching
@pytest.mark.parametrize(("query", "expected"), [
    # exact match on strings is case-sensitive and whole-value
    ('status:"open"', ["in_open", "in_failed"]),
    ('status:"OPEN"', []),
    ('status:"ope"', []),
    ("status:'paid'", ["in_paid"]),
    ('currency:"eur"', ["in_failed"]),
    # expanded references match by id
    ('customer:"cus_A"', ["in_draft", "in_paid", "in_failed"]),
    # substring
    ('number~"ABCD"', ["in_open", "in_paid"]),
    ('number~"0001"', ["in_open", "in_failed"]),
    ('number~"abcd"', []),
    # numeric comparisons, bare or quoted numbers
    ("total>0", ["in_open", "in_paid"]),
    ("total>=0", ["in_draft", "in_open", "in_paid"]),
    ("total<0", ["in_failed"]),
    ("total<=500", ["in_draft", "in_open", "in_failed"]),
    ("total:500", ["in_open"]),
    ('total>"400"', ["in_open", "in_paid"]),
    ("total>-201", ["in_draft", "in_open", "in_paid", "in_failed"]),
    ("created>1700000100", ["in_paid", "in_failed"]),
    ("created<=1700000100", ["in_draft", "in_open"]),
    # negation is logical NOT, so objects where the field is null match a negated clause
    ('-status:"open"', ["in_draft", "in_paid"]),
    ('-receipt_number:"1234-5678"', ["in_draft", "in_open", "in_failed"]),
    ("-total>0", ["in_draft", "in_failed"]),
    ('-number~"ABCD"', ["in_draft", "in_failed"]),
    # null checks
    ("receipt_number:null", ["in_draft", "in_open", "in_failed"]),
    ("-receipt_number:null", ["in_paid"]),
    ("number:null", ["in_draft"]),
    ("last_finalization_error_code:null", ["in_draft", "in_open", "in_paid"]),
    ('status:"null"', []),
    # nested fields
    ('last_finalization_error_code:"customer_tax_location_invalid"', ["in_failed"]),
    ('last_finalization_error_type:"invalid_request_error"', ["in_failed"]),
    ('last_finalization_error_type~"request"', ["in_failed"]),
    # subscription: top-level first, then parent.subscription_details (also when top-level is null)
    ('subscription:"sub_1"', ["in_open"]),
    ('subscription:"sub_2"', ["in_paid"]),
    ('subscription:"sub_3"', ["in_failed"]),
    ("subscription:null", ["in_draft"]),
    # metadata
    ('metadata["order"]:"42"', ["in_open"]),
    ("metadata['order']:'43'", ["in_paid"]),
    ('metadata["order"]:42', ["in_open"]),
    ('metadata["order"]:"4"', []),
    ('metadata["tier"]:null', ["in_draft", "in_open", "in_failed"]),
    ('-metadata["order"]:null', ["in_open", "in_paid"]),
    ('metadata["note"]:"say \\"hi\\""', ["in_paid"]),
    ("metadata['note']:'say \"hi\"'", ["in_paid"]),
    # bare digits are accepted for string fields (Stripe documents last4:4242)
    ("receipt_number:12345678", []),
    ('receipt_number:"1234-5678"', ["in_paid"]),
    # conjunctions
    ('status:"open" AND total>0', ["in_open"]),
    ('status:"open" total>0', ["in_open"]),
    ('status:"open" and total>0', ["in_open"]),
    ('status:"paid" OR currency:"eur"', ["in_paid", "in_failed"]),
    ('status:"paid" or currency:"eur" OR total:500', ["in_open", "in_paid", "in_failed"]),
    ('  status:"paid"  AND\tcustomer:"cus_A"  ', ["in_paid"]),
])
def test_matching(query: str, expected: list[str]) -> None:
    assert ids(query) == expected


def test_matching_tolerates_odd_objects() -> None:
    weird = {"status": 5, "total": "500", "metadata": "nope", "last_finalization_error": "x", "parent": [1]}
    assert parse('status:"5" OR total>1 OR metadata["k"]:"v" OR subscription:"s"').matches(weird) is False
    assert parse('status:null AND total:null AND metadata["k"]:null AND subscription:null').matches(weird)
    assert parse("total>1").matches({}) is False
    assert parse("status:null").matches({"status": ""})


def test_ast_shape() -> None:
    query = parse('-metadata["k"]:"v" OR total>=5 OR number:null')
    assert query == Query(
        (
            Clause("metadata", "k", ":", "v", negated=True),
            Clause("total", None, ">=", 5),
            Clause("number", None, ":", None),
        ),
        "OR",
    )
    assert str(query) == '-metadata["k"]:"v" OR total>=5 OR number:null'
    assert parse('status:"open"').conjunction == "AND"
    assert parse("receipt_number:4242").clauses[0].value == "4242"
    assert Query((Clause("total", None, ">", 1),), "OR").conjunction == "AND"


@pytest.mark.parametrize("query", [
    "metadata['a\\'b']:'c\\\\d'",
    'status:"open" and total:"7" created>=-3',
    'number~"a\\"b" OR number:"\\\\"',
    'status:"tab\there"',
])
def test_canonical_round_trip(query: str) -> None:
    parsed = parse(query)
    assert parse(str(parsed)) == parsed
    assert str(parse(str(parsed))) == str(parsed)


def test_ten_clauses_are_allowed() -> None:
    assert len(parse(" OR ".join(["total>1"] * MAX_CLAUSES)).clauses) == MAX_CLAUSES


def test_table_covers_stripe_invoice_fields() -> None:
    assert set(SEARCHABLE_FIELDS) == {
        "created", "currency", "customer", "last_finalization_error_code", "last_finalization_error_type",
        "metadata", "number", "receipt_number", "status", "subscription", "total",
    }
    assert {name for name, spec in SEARCHABLE_FIELDS.items() if spec.kind == "number"} == {"created", "total"}


# ------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(("query", "position", "reason"), [
    ("", 0, "empty"),
    ("   \t", 0, "empty"),
    ('amount:"5"', 0, "unknown field 'amount'"),
    ('status:"open" AND Status:"open"', 18, "unknown field 'Status'"),
    ('status:"open" AND total>1 OR total<2', 26, "cannot mix AND and OR"),
    ('status:"open" total>1 OR total<2', 22, "cannot mix AND and OR"),
    ('status:"open', 7, "unbalanced quote"),
    ("status:'open", 7, "unbalanced quote"),
    ('status:"open\\"', 7, "unbalanced quote"),
    ('metadata["k:"v"', 13, "expected ']'"),
    ("status:", 7, "missing value"),
    ('status: AND total>1', 7, "missing value"),
    ("total>=", 7, "missing value"),
    ('status:"open" AND', 17, "expected a clause after AND"),
    ('status:"open" OR  ', 18, "expected a clause after OR"),
    ('AND status:"open"', 0, "unknown field 'AND'"),
    ('status:"open" AND-total>1', 17, "expected whitespace after AND"),
    ('status>"open"', 6, "comparison '>' is only supported on numeric fields"),
    ('customer<="cus_A"', 8, "comparison '<=' is only supported on numeric fields"),
    ('total~"500"', 5, "'~' is only supported on string fields"),
    ('metadata["k"]~"abc"', 13, "metadata fields only support exact match"),
    ('number~"ab"', 7, "at least 3 characters"),
    ("total>5.5", 6, "expected an integer"),
    ('created>"yesterday"', 8, "expected an integer"),
    ("total>99999999999999999999", 6, "out of range"),
    ("total>999999999999999999999999999", 6, "expected an integer"),
    ("status:open", 7, "must be quoted"),
    ("total>null", 6, "null can only be used with ':'"),
    ('status:""', 7, "empty value"),
    ('status "open"', 6, "whitespace is not allowed between field name 'status'"),
    ('status :"open"', 6, "whitespace is not allowed"),
    ('status: "open"', 7, "missing value"),
    ('status="open"', 6, "expected ':', '~', '>', '<', '>=' or '<=' after field name 'status'"),
    ('status:"open"total>1', 13, "expected whitespace, AND or OR"),
    ('metadata:"x"', 8, "expected [\"key\"]"),
    ('metadata[k]:"x"', 9, "expected a quoted key"),
    ('metadata[""]:"x"', 9, "metadata key must not be empty"),
    ('status["k"]:"x"', 6, "does not take a [key]"),
    ("-", 1, "expected a field name"),
    ('- status:"x"', 1, "expected a field name"),
    (" OR ".join(['status:"open"'] * (MAX_CLAUSES + 1)), 170, "too many clauses"),
])
def test_rejections(query: str, position: int, reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert reason in caught.value.reason
    assert caught.value.position == position
    assert str(caught.value) == f"Invalid query at position {position}: {caught.value.reason}"
    assert isinstance(caught.value, ValueError)


def test_unknown_resource_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no search fields"):
        parse('status:"open"', resource="widget")


# -------------------------------------------------------------------------------------------- properties
def _clause_asts() -> st.SearchStrategy[Clause]:
    text = st.text(min_size=1, max_size=8).filter(lambda s: "\x00" not in s)
    numbers = st.integers(-(2**63), 2**63 - 1)
    string_field = st.sampled_from(sorted(n for n, s in SEARCHABLE_FIELDS.items() if s.kind == "string"))
    number_field = st.sampled_from(sorted(n for n, s in SEARCHABLE_FIELDS.items() if s.kind == "number"))
    return st.one_of(
        st.builds(Clause, string_field, st.none(), st.just(":"), st.none() | text, st.booleans()),
        st.builds(Clause, string_field, st.none(), st.just("~"), st.text(min_size=3, max_size=8),
                  st.booleans()),
        st.builds(Clause, number_field, st.none(), st.sampled_from([":", ">", "<", ">=", "<="]), numbers,
                  st.booleans()),
        st.builds(Clause, number_field, st.none(), st.just(":"), st.none(), st.booleans()),
        st.builds(Clause, st.just("metadata"), text, st.just(":"), st.none() | text, st.booleans()),
    )


@PROPERTY
@given(st.lists(_clause_asts(), min_size=1, max_size=MAX_CLAUSES), st.sampled_from(["AND", "OR"]))
def test_any_ast_renders_to_text_that_parses_back(clauses: list[Clause], conjunction: str) -> None:
    query = Query(tuple(clauses), conjunction)  # type: ignore[arg-type]
    assert parse(str(query)) == query


@PROPERTY
@given(search_queries(VALUES))
def test_generated_queries_parse_and_round_trip(text: str) -> None:
    query = parse(text)
    assert 1 <= len(query.clauses) <= MAX_CLAUSES
    assert parse(str(query)) == query
    assert str(parse(str(query))) == str(query)


@PROPERTY
@given(search_queries(VALUES))
def test_conjunction_semantics_compose_from_single_clauses(text: str) -> None:
    query = parse(text)
    for obj in INVOICES:
        singles = [Query((clause,)).matches(obj) for clause in query.clauses]
        assert query.matches(obj) == (all(singles) if query.conjunction == "AND" else any(singles))
        for clause in query.clauses:
            flipped = Clause(clause.field, clause.key, clause.op, clause.value, not clause.negated)
            assert flipped.matches(obj) != clause.matches(obj)


@PROPERTY
@given(malformed_queries())
def test_malformed_queries_are_rejected(text: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse(text)


_GRAMMARISH = st.lists(
    st.sampled_from([*'statuscreedmoxnl:~<>=-"\'\\[] \t', "AND", "OR", "and", "null", "total",
                     "metadata", "5", "-1", "é"]),
    max_size=25,
).map("".join)


@settings(PROPERTY, max_examples=400)
@given(st.text(max_size=60) | _GRAMMARISH)
def test_parse_raises_nothing_but_query_syntax_error(text: str) -> None:
    try:
        query = parse(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text)
    else:
        assert parse(str(query)) == query


def test_generated_queries_cover_the_grammar_and_hit_real_objects() -> None:
    needles = ("~", " OR ", " AND ", " or ", "-", ":null", "metadata[", ">=", "<", "'")
    seen: set[str] = set()
    selected: list[int] = []

    @settings(PROPERTY, max_examples=300)
    @given(search_queries(VALUES))
    def collect(text: str) -> None:
        query = parse(text)
        seen.update(needle for needle in needles if needle in text)
        selected.append(len(query.filter(INVOICES)))
        assert all(len(str(c.value)) >= 3 for c in query.clauses if c.op == "~")

    collect()
    assert seen == set(needles)
    assert any(0 < count < len(INVOICES) for count in selected)


def test_search_queries_validates_values() -> None:
    with pytest.raises(ValueError, match="not searchable"):
        search_queries({"amount": [1]})
    with pytest.raises(TypeError):
        search_queries({"total": ["500"]})
    with pytest.raises(TypeError):
        search_queries({"metadata": ["k"]})
    assert parse(find(search_queries({}), lambda q: True))
    assert quote_string('a"b\\') == '"a\\"b\\\\"'
