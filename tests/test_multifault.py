"""Scoring of the multi-fault matrix, and the catalogue's recognisers it relies on.

The harness reads the catalogue from the mock as a process (`python -m mockserver --fault list --json`); these tests
may import both sides, so they also check that what the harness reads is what the mock declares."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import subprocess
import sys

import pytest

from contracts.loader import load_contract
from contracts.rules import load_rules
from harness.catalogue import CATALOGUE, Catalogue, CatalogueError, Recogniser
from harness.findings import stable
from harness.multifault import draw, is_masked, removed_operations, render, score, totals
from mockserver import faults as mock_faults
from mockserver.faults import DOZEN_MISSING, RELATION_FAULTS, Recognise

LABELS = [op.label for op in load_contract().operations.values()]


def _finding(category: str, operation: str, check: str, signature: str = "s", reproducible=True) -> dict:
    return {"id": "x", "category": category, "operation": operation, "check": check, "signature": signature,
            "count": 3, "tests": [], "reproducible": reproducible}


def test_every_fault_says_how_its_finding_is_recognised():
    for name, fault in CATALOGUE.items():
        rec = fault.finding
        assert rec is not None, f"{name}: declare how its finding is recognised (finding=Recognise(...))"
        re.compile(rec.pattern)
        assert rec.expect >= 1, name
        assert any(any(fnmatch.fnmatchcase(label, p) for p in rec.operations) for label in LABELS), \
            f"{name}: its recogniser's operations match no operation of the contract"


def test_draws_are_deterministic_and_leave_out_scenarios_and_lookalikes():
    assert draw(3, 10) == draw(3, 10)
    assert draw(3, 10) != draw(4, 10)
    for seed in range(30):
        drawn = set(draw(seed, 20))
        assert len(drawn) == 20 and "only_invoices_implemented" not in drawn
        assert all(len(group & drawn) <= 1 for group in CATALOGUE.indistinguishable)
    assert all(name in CATALOGUE for group in CATALOGUE.indistinguishable for name in group)


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


def _as_read(rec: Recognise) -> Recogniser:
    return Recogniser(rec.check, rec.operations, rec.categories, rec.expect, tuple(_as_read(a) for a in rec.also),
                      rec.statements)


def test_the_harness_reads_the_catalogue_the_mock_declares():
    assert list(CATALOGUE) == list(mock_faults.CATALOGUE)
    for name, declared in mock_faults.CATALOGUE.items():
        read = CATALOGUE[name]
        assert (read.family, read.breaks, read.caught_by) == (declared.family, declared.breaks, declared.caught_by)
        assert read.finding == (_as_read(declared.finding) if declared.finding else None), name
        assert read.removes == mock_faults.removed_operations(declared), name
    assert CATALOGUE["dozen_operations_unimplemented"].removes == DOZEN_MISSING
    assert set(CATALOGUE.indistinguishable) == set(mock_faults.INDISTINGUISHABLE)


def test_a_relation_fault_recognises_the_finding_its_rule_raises():
    rules = load_rules()
    for name, rule in RELATION_FAULTS.items():
        rec = CATALOGUE[name].finding
        assert rec is not None
        own = {"category": "invariant violation", "operation": "GET /v1/invoices/{invoice}",
               "check": stable(rules[rule].statement), "signature": "s"}
        assert rec.matches(own), name
        if rec.statements:  # declared with relation_fault: its rule's own finding, and only as an invariant
            assert not rec.matches({**own, "category": "contract violation"}), name
    assert sum(bool(CATALOGUE[name].finding.statements) for name in RELATION_FAULTS) >= 5
    unrelated = {"category": "invariant violation", "operation": "GET /v1/invoices",
                 "check": "limit is honoured", "signature": "s"}
    assert not any(CATALOGUE[name].finding.matches(unrelated) for name in RELATION_FAULTS)


def test_statements_are_matched_literally_after_folding_per_run_values():
    rec = Recogniser("", statements=("total = sum(lines[0].amount) for in_1MzXyZabcdEf",))
    assert rec.pattern == re.escape("total = sum(lines[].amount) for <id>")
    assert rec.matches({"category": "x", "operation": "*", "check": "total = sum(lines[].amount) for <id>"})
    assert not rec.matches({"category": "x", "operation": "*", "check": "total = sum(lines.amount)"})
    assert dataclasses.replace(rec, check="extra").pattern.endswith("|extra")


def test_the_mock_lists_its_catalogue_as_json_only_with_fault_list():
    listed = subprocess.run([sys.executable, "-m", "mockserver", "--fault", "list", "--json"], capture_output=True,
                            text=True, check=True)
    data = json.loads(listed.stdout)
    assert [f["name"] for f in data["faults"]] == list(mock_faults.CATALOGUE)
    alone = subprocess.run([sys.executable, "-m", "mockserver", "--json"], capture_output=True, text=True)
    assert alone.returncode == 2 and "--fault list" in alone.stderr


@pytest.mark.parametrize("script", ["import sys; sys.exit(3)", "print('not json')", "print('{}')"])
def test_a_mock_that_cannot_list_its_catalogue_is_one_clear_error(script):
    catalogue = Catalogue((sys.executable, "-c", script))
    with pytest.raises(CatalogueError, match=r"exited 3|printed no fault catalogue"):
        len(catalogue)
