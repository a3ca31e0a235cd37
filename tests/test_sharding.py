"""CI shards (pytest-split, .github/workflows/harness.yml) together run every suite test exactly once.

Only collection is needed (no target), so the three collections run side by side.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = ROOT / ".test_durations"
SPLITS = 2  # keep in step with the shard matrix in .github/workflows/harness.yml
REGENERATE = ("python -m harness.report run --no-html -- -n 0 --store-durations --clean-durations "
              "--durations-path .test_durations")


def collect_all(*variants: list[str]) -> list[list[str]]:
    """Node IDs that `pytest suites --collect-only -q` selects, once per variant of extra args."""
    base = [sys.executable, "-m", "pytest", "suites", "--collect-only", "-q", "--profile", "quick"]
    procs = [subprocess.Popen([*base, *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for extra in variants]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-2000:] + stdout[-2000:]
        out.append([line for line in stdout.splitlines() if "::" in line and not line.startswith("[")])
    return out


def test_shards_partition_the_suites_exactly() -> None:
    """Compared as multisets: Schemathesis's `schema.parametrize()` items all share one node ID."""
    shard = ["--splits", str(SPLITS), "--durations-path", str(DURATIONS)]
    full, *groups = collect_all([], *[[*shard, "--group", str(n)] for n in range(1, SPLITS + 1)])
    assert len(full) > 100, "suites collected suspiciously few tests"
    for n, group in enumerate(groups, start=1):
        assert group, f"shard {n} is empty"
    expected = Counter(full)
    combined = Counter(node for group in groups for node in group)
    duplicated = sorted((combined - expected).elements())
    assert not duplicated, f"run by more than one shard: {duplicated[:10]}"
    lost = sorted((expected - combined).elements())
    assert not lost, f"run by no shard: {lost[:10]}"
    assert combined == expected


def test_durations_file_matches_the_suites() -> None:
    """Stale durations still split correctly, but unevenly: regenerate when the suites have moved on."""
    durations = json.loads(DURATIONS.read_text())
    (full,) = collect_all([])
    known = sum(1 for node in full if node in durations)
    assert known >= len(full) / 2, (f"only {known}/{len(full)} suite tests have a stored duration; "
                                    f"regenerate .test_durations: {REGENERATE}")
