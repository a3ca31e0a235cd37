"""Schemathesis over our contract: every operation, examples + coverage (boundaries) + fuzzing, positive and
negative data, through the harness client and with Stripe's encoding and our API checks registered.

The coverage phase is its own test per operation (`test_schemathesis_coverage_cases_hold`), its cases built by
the worker that runs it (harness/schemathesis_support.py `coverage_cases`): Schemathesis's pytest plugin builds
them for every operation while collecting, in every worker, which made each worker's start-up three times longer.

What we change from Schemathesis's defaults, and why (see harness/schemathesis_support.py):
- the form serializer writes Stripe's bracket notation (the default flattens arrays of objects);
- `positive_data_acceptance` is off: a schema-valid request can still break a business rule the contract cannot
  express (an invoice needs an existing customer), and Stripe answers those with a 400;
- `unsupported_method` is off: Stripe answers unknown methods with a 404 "Unrecognized request URL", not 405;
- `negative_data_rejection` also accepts 413/414: a body or URL too large for the server is a rejection;
- `ignored_auth` is off: it re-sends each case without credentials outside the harness client, so those probes are
  never retried, and a 429 or 503 from a rate-limiting server would read as "auth not enforced".
  suites/test_security.py checks the 401 of every operation instead, through the client.
"""

from __future__ import annotations

from itertools import islice

import allure
import pytest
from hypothesis import settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance, unsupported_method

from harness.checks import label_test, livemode_is_false, timestamps_are_unix_seconds, well_formed
from harness.findings import CheckFailed, record
from harness.passes import FIRST, pass_of
from harness.profiles import active
from harness.redaction import scrub
from harness.schemathesis_support import API_CHECKS, coverage_cases, findings_from, load_schema, send_case, send_cases

pytestmark = [pytest.mark.schemathesis]

schema = load_schema()
PROFILE = active()
# Phases scale with the profile: examples and fuzzing always; the coverage phase (boundary values of every
# parameter) from `ci` on, since it sends hundreds of requests per operation. It runs in its own test, below.
schema.config.phases.coverage.enabled = False
COVERAGE_LABELS = [pytest.param("every operation", marks=pytest.mark.skip(
    reason="the quick profile leaves out Schemathesis's coverage phase (~7,500 requests): --profile ci runs it"))]
if PROFILE.name != "quick":
    COVERAGE_LABELS = [result.ok().label for result in schema.get_all_operations()]
COVERAGE_BATCH = 64  # cases sent before their answers are checked (the client keeps --concurrency in flight)
schema.config.generation.update(max_examples=PROFILE.schemathesis_examples)
# A request rejected for its size (413, 414) is rejected: Schemathesis's default list omits those statuses.
negative = schema.config.checks.negative_data_rejection
negative.expected_statuses = [*negative.expected_statuses, "413", "414"]
EXCLUDED = [positive_data_acceptance, unsupported_method, ignored_auth]


def _check(case, raw, target) -> None:
    """Schemathesis's checks plus ours, on the response to a case sent with the target's key."""
    case.validate_response(raw, additional_checks=API_CHECKS, excluded_checks=EXCLUDED,
                           headers={"Authorization": f"Bearer {target.api_key}"},
                           transport_kwargs={"base_url": target.base_url})


def _validate(case, resp, target, contract) -> None:
    """Our checks of every answer (recorded), then Schemathesis's: its failures become findings, deduplicated with
    ours (see harness/schemathesis_support.py `findings_from`), the first raised, the others recorded."""
    matched = contract.match(case.method, case.operation.path)
    op = matched[0] if matched else None
    if op is not None:
        try:
            well_formed(op, resp)
        except CheckFailed as failed:  # a 5xx: recorded, Schemathesis's own checks still run
            record(failed.finding)
        livemode_is_false(op, resp)
        timestamps_are_unix_seconds(op, resp)
    try:
        _check(case, resp.raw, target)
    except (Exception, BaseExceptionGroup) as exc:  # its message may quote headers: never let a key through
        found = findings_from(exc, op.label if op else case.operation.label, resp)
        if not found:
            return  # every failure is one our checks judged (and recorded) on the same answer
        for extra in found[1:]:
            record(extra)
        raise CheckFailed(found[0], f"{found[0].category.heading} (Schemathesis): {case.operation.label}\n"
                                    f"{scrub(str(exc))}\n\n{resp.describe()}") from None


@schema.parametrize()
def test_schemathesis_checks_hold(case, api, target, contract):
    op = contract.match(case.method, case.operation.path)
    label_test(op[0] if op else None, "schemathesis", title=f"Schemathesis: {case.operation.label}")
    allure.dynamic.parameter("operation", case.operation.label)  # one Allure test per operation, not retries
    _validate(case, send_case(api, case), target, contract)


@pytest.mark.parametrize("label", COVERAGE_LABELS)
def test_schemathesis_coverage_cases_hold(label, api, target, contract, request):
    """Schemathesis's coverage phase for one operation: every case sent, every finding recorded (the test fails
    at its end with all of them); the first pass sends the first case only.

    No case depends on another's answer, so they go out in batches (`send_cases`: several in flight, against a
    distant target), and each answer is checked in the cases' order once its batch is back."""
    operation = schema.find_operation_by_label(label)
    op = contract.match(operation.method, operation.path)
    label_test(op[0] if op else None, "schemathesis coverage", title=f"Schemathesis coverage phase: {label}")
    cases = list(islice(coverage_cases(operation), 1 if pass_of(request.node) == FIRST else None))
    for start in range(0, len(cases), COVERAGE_BATCH):
        batch = cases[start:start + COVERAGE_BATCH]
        for case, resp in zip(batch, send_cases(api, batch), strict=True):
            try:
                _validate(case, resp, target, contract)
            except CheckFailed as failed:
                record(failed.finding)


def test_schemathesis_stateful_links_chain_real_calls(api, target, profile, contract):
    """The contract's OpenAPI links let Schemathesis chain create -> retrieve/update/actions and list -> retrieve."""
    label_test(None, "schemathesis stateful", title="Schemathesis state machine over the contract's links")
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def call(self, case, **kwargs):
            self._last = send_case(api, case)
            return self._last.raw

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            _validate(case, self._last, target, contract)

    Machine.run(settings=settings(max_examples=profile.machines, stateful_step_count=profile.steps,
                                  deadline=None))
