"""The suites bite and do not cry wolf: the bounded detection matrix CI runs on every submission.

One planted fault per check family must be caught by the suites (quick profile, stopping at the first failure),
and a run against a slow, rate-limited, flaky, chatty but correct mock must stay green. The full matrix (every
fault, every chaos mode, ci profile) is `python -m harness.faultmatrix` (tox -e faults).
"""

from __future__ import annotations

import pytest

from harness.faultmatrix import SUBSET, run_chaos, run_fault
from mockserver.faults import CATALOGUE

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", SUBSET)
def test_planted_fault_is_caught(name, tmp_path):
    outcome = run_fault(name, "quick", tmp_path)
    assert outcome.ok, (f"planted fault {name!r} ({CATALOGUE[name].breaks}) was {outcome.verdict}: "
                        f"expected the {CATALOGUE[name].caught_by} suite to fail; {outcome.first_failure}")


def test_suites_stay_green_against_an_unfriendly_but_correct_mock(tmp_path):
    outcome = run_chaos("combined", "rate_limit=0.1,unavailable=0.1,extra_fields,extra_headers,latency=0.001",
                        "quick", tmp_path)
    assert outcome.ok, f"false alarm under chaos: {outcome.failures} failing tests; first: {outcome.first_failure}"
