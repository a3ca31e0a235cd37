"""Many faults at once, bounded: CI plants 8 random catalogue faults (seed 0) in one mock, runs every suite once
(quick profile) and requires that every planted fault shows as a finding of its own and that every finding is
explained by a planted fault. The full measurement is `python -m harness.faultmatrix --multi 10 --seeds 5`."""

from __future__ import annotations

import pytest

from harness.multifault import draw, render, run_seed

pytestmark = pytest.mark.slow


def test_eight_faults_at_once_are_each_found_once_and_nothing_else(tmp_path):
    faults = draw(0, 8)
    result = run_seed(0, faults, "quick", tmp_path, workers=2)
    table = render([result], 8, "quick", result.seconds)
    assert result.error is None, table
    missed = [name for name in result.scored if not result.recalled.get(name)]
    assert missed == [], f"planted faults without a finding of their own: {missed}\n{table}"
    assert result.unexplained == [], f"findings no planted fault explains:\n{table}"
