"""Scoring of the multi-fault matrix, and the catalogue's recognisers it relies on."""

from __future__ import annotations

import fnmatch
import re

from contracts.loader import load_contract
from harness.multifault import draw, is_masked, removed_operations, render, score, totals
from mockserver.faults import CATALOGUE, DOZEN_MISSING, INDISTINGUISHABLE

LABELS = [op.label for op in load_contract().operations.values()]


def _finding(category: str, operation: str, check: str, signature: str = "s", reproducible=True) -> dict:
    return {"id": "x", "category": category, "operation": operation, "check": check, "signature": signature,
            "count": 3, "tests": [], "reproducible": reproducible}


def test_every_fault_says_how_its_finding_is_recognised():
    for name, fault in CATALOGUE.items():
        rec = fault.finding
        assert rec is not None, f"{name}: declare how its finding is recognised (finding=Recognise(...))"
        re.compile(rec.check)
        assert rec.expect >= 1, name
        assert any(any(fnmatch.fnmatchcase(label, p) for p in rec.operations) for label in LABELS), \
            f"{name}: its recogniser's operations match no operation of the contract"


def test_draws_are_deterministic_and_leave_out_scenarios_and_lookalikes():
    assert draw(3, 10) == draw(3, 10)
    assert draw(3, 10) != draw(4, 10)
    for seed in range(30):
        drawn = set(draw(seed, 20))
        assert len(drawn) == 20 and "only_invoices_implemented" not in drawn
        assert all(len(group & drawn) <= 1 for group in INDISTINGUISHABLE)
    assert all(name in CATALOGUE for group in INDISTINGUISHABLE for name in group)


def test_score_counts_recall_precision_and_findings_per_fault():
    planted = ["no_request_id_anywhere", "amount_as_string", "void_accepts_draft"]
    found = [
        _finding("contract violation", "*", "every response has a Request-Id header", "header missing"),
        _finding("contract violation", "GET /v1/invoices", "the body matches the contract's 200 schema"),
        _finding("invariant violation", "GET /v1/customers", "walking pages ends"),  # nobody planted this
        _finding("contract violation", "GET /v1/invoices", "limit is honoured", reproducible=False),  # flaky
    ]
    result = score(0, planted, found)
    assert result.recalled == {"no_request_id_anywhere": 1, "amount_as_string": 1, "void_accepts_draft": 0}
    assert result.findings == 3 and len(result.unexplained) == 1 and len(result.set_apart) == 1
    t = totals([result])
    assert (t.caught, t.planted, t.explained, t.findings, t.expected) == (2, 3, 2, 3, 3)
    text = render([result], 3, "quick", 1.0)
    assert "MISSED" in text and "walking pages ends" in text and "Recall 66.7%" in text


def test_a_fault_whose_operations_another_fault_removed_is_masked_not_missed():
    removed = removed_operations(["dozen_operations_unimplemented"])
    assert len(removed) == len(DOZEN_MISSING)
    assert is_masked(CATALOGUE["search_ignores_second_clause"], removed)
    assert not is_masked(CATALOGUE["amount_as_string"], removed)
    result = score(1, ["dozen_operations_unimplemented", "search_ignores_second_clause"],
                   [_finding("not implemented", "GET /v1/invoices/search", "the operation is implemented")])
    assert result.masked == ["search_ignores_second_clause"]
    assert result.scored == ["dozen_operations_unimplemented"] and result.expected == 12 and result.caught == 1
