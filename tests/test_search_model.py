"""The suites' own search oracle (suites/search_model.py): verdicts on hand-made invoices, rendering, and that it
disagrees with a broken matcher where the mock's own matcher would agree with itself."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from suites.search_model import Clause, SearchQuery, search_queries
from wire.search_query import parse

DRAFT = {"id": "in_1", "status": "draft", "customer": "cus_A", "currency": "usd", "total": 0, "created": 1700000000,
         "number": None, "metadata": {"order_id": "o1"}}
OPEN = {"id": "in_2", "status": "open", "customer": "cus_A", "currency": "usd", "total": 700, "created": 1700000005,
        "number": "ABCD-0002", "metadata": {}}


@pytest.mark.parametrize(("clause", "draft", "open_"), [
    (Clause("status", ":", "open"), False, True),
    (Clause("status", ":", "open", negated=True), True, False),
    (Clause("total", ">", 0), False, True),
    (Clause("total", "<=", 0), True, False),
    (Clause("created", ":", 1700000005), False, True),
    (Clause("number", "~", "D-00"), False, True),
    (Clause("number", ":", None), True, False),
    (Clause("number", ":", None, negated=True), False, True),
    (Clause("number", ":", "ABCD-0002", negated=True), None, False),  # null vs value under negation: undocumented
    (Clause("metadata", ":", "o1", key="order_id"), True, False),
    (Clause("metadata", ":", None, key="order_id"), False, True),
])
def test_clause_verdicts(clause: Clause, draft: bool | None, open_: bool | None) -> None:
    assert clause.verdict(DRAFT) is draft
    assert clause.verdict(OPEN) is open_


def test_query_verdict_is_kleene_logic() -> None:
    unknown = Clause("number", ":", "ABCD-0002", negated=True)  # open on DRAFT
    assert SearchQuery((unknown, Clause("status", ":", "open"))).verdict(DRAFT) is False  # AND with a False
    assert SearchQuery((unknown, Clause("status", ":", "draft"))).verdict(DRAFT) is None
    assert SearchQuery((unknown, Clause("status", ":", "draft")), "OR", " OR ").verdict(DRAFT) is True
    assert SearchQuery((unknown, Clause("status", ":", "open")), "OR", " OR ").verdict(DRAFT) is None


def test_rendering_quotes_and_escapes() -> None:
    assert Clause("metadata", ":", 'a"b', key="k").render() == 'metadata["k"]:"a\\"b"'
    assert Clause("status", ":", "it's", single_quotes=True, negated=True).render() == "-status:'it\\'s'"
    assert SearchQuery((Clause("total", ">=", 5), Clause("number", ":", None)), "OR", " or ").text == \
        "total>=5 or number:null"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="amount_due"):
        search_queries({"amount_due": [1]})


VALUES = {"status": ["draft", "open"], "customer": ["cus_A"], "currency": ["usd"], "total": [0, 700],
          "created": [1700000000, 1700000005], "number": ["ABCD-0002"], "metadata": [("order_id", "o1")]}


@settings(max_examples=300, deadline=None)
@given(query=search_queries(VALUES))
def test_the_grammar_accepts_every_rendered_query_and_agrees_where_the_model_decides(query: SearchQuery) -> None:
    """Cross-check against the mock's parser and matcher: both implement Stripe's documented semantics."""
    parsed = parse(query.text)
    for invoice in (DRAFT, OPEN):
        verdict = query.verdict(invoice)
        if verdict is not None:
            assert parsed.matches(invoice) is verdict, (query.text, invoice["id"])


def test_a_matcher_bug_is_visible_to_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the mock's matcher as the catalogue's search_substring_is_prefix does: the mock's own matcher then
    agrees with its bug, the model does not (it shares no code with the matcher)."""
    from wire import search_query

    correct = search_query._positive_match
    monkeypatch.setattr(search_query, "_positive_match",
                        lambda op, exp, act: act.startswith(exp) if op == "~" else correct(op, exp, act))
    query = SearchQuery((Clause("number", "~", "D-00"),))
    assert parse(query.text).matches(OPEN) is False
    assert query.verdict(OPEN) is True
