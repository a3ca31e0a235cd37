"""`coverage_cases` builds, for one operation, exactly the coverage-phase cases Schemathesis's pytest plugin would
attach to that operation's test while collecting. It reaches into Schemathesis internals; this is the guard that an
upgrade changing them fails here instead of silently sending other cases (or none)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
import schemathesis
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test

from harness.findings import ANY_OPERATION
from harness.schemathesis_support import coverage_cases, findings_from, load_schema, planned_case

# A path parameter only, query parameters, a large form body, and a nested body with arrays.
LABELS = ["DELETE /v1/invoices/{invoice}", "GET /v1/invoices", "POST /v1/invoices/{invoice}/add_lines",
          "POST /v1/financial_connections/sessions"]


def _schema() -> schemathesis.BaseSchema:
    """A schema of its own per side: Schemathesis remembers per schema which paths got their unexpected-method
    probes, so two builds from one schema would differ."""
    schema = load_schema()
    schema.config.phases.examples.enabled = False
    schema.config.phases.coverage.enabled = True
    return schema


def _key(case: schemathesis.Case) -> tuple:
    return (case.method, case.path, repr(case.path_parameters), repr(case.query), repr(case.body),
            repr(case.headers), case.media_type)


@pytest.mark.parametrize("label", LABELS)
def test_coverage_cases_are_the_ones_schemathesis_attaches(label: str) -> None:
    ours = sorted(_key(case) for case in coverage_cases(_schema().find_operation_by_label(label)))
    schema = _schema()
    built = build_operation_test(config=schema.config, operation=schema.find_operation_by_label(label),
                                 test_func=lambda case: None, given_kwargs={}, feedback=FeedbackSources())
    theirs = sorted(_key(example.kwargs["case"]) for example in built.hypothesis_explicit_examples)
    assert theirs, "Schemathesis attached no coverage case: the comparison would prove nothing"
    assert ours == theirs


def test_coverage_cases_hold_positive_and_negative_cases() -> None:
    cases = list(coverage_cases(_schema().find_operation_by_label("GET /v1/invoices")))
    modes = {case.meta.generation.mode.value for case in cases}
    assert modes == {"positive", "negative"}
    assert len(cases) > 100  # boundary values of every query parameter


def test_a_case_is_planned_in_stripe_s_encoding_without_its_authorization() -> None:
    operation = _schema().find_operation_by_label("POST /v1/invoices/{invoice}/add_lines")
    case = operation.Case(path_parameters={"invoice": "in_1"}, query={"expand": ["lines"]},
                          body={"lines": [{"amount": 5, "metadata": {"k": "v"}}]},
                          headers={"Authorization": "Bearer sk_test_leak", "X-Probe": "1"})
    planned = planned_case(case)
    assert (planned.method, unquote(planned.path)) == ("POST", "/v1/invoices/in_1/add_lines?expand[0]=lines")
    assert unquote(planned.raw_body.decode()) == "lines[0][amount]=5&lines[0][metadata][k]=v"
    assert planned.headers == {"X-Probe": "1"}
    get = _schema().find_operation_by_label("GET /v1/invoices").Case(query={"limit": 3})
    assert (planned_case(get).path, planned_case(get).raw_body) == ("/v1/invoices?limit=3", None)


class _Failure(Exception):
    """The attributes `findings_from` reads from a Schemathesis failure."""

    def __init__(self, code: str, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status_code, self.title, self.message = code, status, title, message


def test_one_schemathesis_failure_on_several_operations_is_one_finding() -> None:
    seen = [findings_from(_Failure("ST201", 200, "API accepted schema-violating request",
                                   f"Invalid data should have been rejected\nstatus={value!r}"), label, None)
            for value, label in [(0, "GET /v1/invoices"), ("x", "GET /v1/issuing/authorizations")]]
    [first], [second] = seen
    assert first.key == second.key
    assert first.operation == ANY_OPERATION
    assert (first.operations, second.operations) == (["GET /v1/invoices"], ["GET /v1/issuing/authorizations"])
