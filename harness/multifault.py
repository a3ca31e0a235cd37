"""Many faults at once: plant K random catalogue faults in one mock, run every suite, and score the findings.

    python -m harness.faultmatrix --multi K --seeds N [--profile quick] [--jobs 2] [--faults a,b,...]

Real servers have many defects at once; a harness proven one planted fault at a time can still let a shallow
defect hide a deep one, or report one defect forty times. For each seed, K faults are drawn from the catalogue
(`random.Random(seed)`, so a seed always plants the same faults), one run of all suites goes against the mock with
all of them, and its ``findings.json`` is scored with each fault's recogniser (`harness.catalogue`):

- **recall**: the share of planted faults that appear as a finding of their own (at least one finding the fault's
  recogniser matches). A fault whose every operation another planted fault removed (an operation that is not
  implemented cannot show anything else) is *masked* and left out of recall;
- **precision**: the share of findings (defects: flaky ones and harness errors are listed apart) that some planted
  fault's recogniser explains;
- **findings per planted fault**: findings divided by the findings the planted faults should produce (one each,
  or one per operation for a fault that removes operations).

Prints the table (and writes ``multifault.md`` / ``multifault.json``; each seed's own reports, ``findings.md``
included, stay in ``multifault-runs/seed-N/``); exits non-zero when recall or precision is
below ``--min-recall`` / ``--min-precision``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contracts.loader import load_contract
from harness.catalogue import CATALOGUE, Fault

ROOT = Path(__file__).resolve().parent.parent
DEFECT_CATEGORIES = ("server error", "contract violation", "invariant violation", "not implemented")
# Scenarios rather than faults: the 36-operations fake leaves little for other faults to break.
NOT_DRAWN = ("only_invoices_implemented",)


@dataclass
class SeedResult:
    seed: int
    faults: list[str]
    recalled: dict[str, int] = field(default_factory=dict)  # fault -> findings its recogniser matches
    matched: dict[str, list[str]] = field(default_factory=dict)  # fault -> headlines of those findings
    masked: list[str] = field(default_factory=list)
    expected: int = 0  # findings the planted faults should produce
    findings: int = 0  # defect findings reported
    kinds: int = 0  # distinct (category, check, signature) among them: findings that differ only by operation
    unexplained: list[str] = field(default_factory=list)  # headlines of findings no planted fault explains
    set_apart: list[str] = field(default_factory=list)  # flaky findings and harness errors
    seconds: float = 0.0
    error: str | None = None

    @property
    def scored(self) -> list[str]:
        return [f for f in self.faults if f not in self.masked]

    @property
    def caught(self) -> int:
        return sum(self.recalled.get(f, 0) > 0 for f in self.scored)


def draw(seed: int, k: int, pool: Iterable[str] | None = None) -> list[str]:
    """The K faults seed `seed` plants (deterministic; sorted for display), never two of one
    `CATALOGUE.indistinguishable` group."""
    names = sorted(pool if pool is not None else
                   (n for n, f in CATALOGUE.items() if n not in NOT_DRAWN and f.finding is not None))
    unscored = [n for n in names if CATALOGUE[n].finding is None]
    if unscored:
        raise ValueError(f"faults without a recogniser (finding=Recognise(...)) cannot be scored: {unscored}")
    if k > len(names):
        raise ValueError(f"--multi {k}: the pool has only {len(names)} faults")
    rng = random.Random(seed)
    rng.shuffle(names)
    chosen: list[str] = []
    for name in names:  # never two faults whose findings no scorer could tell apart
        if not any(name in group and group & set(chosen) for group in CATALOGUE.indistinguishable):
            chosen.append(name)
        if len(chosen) == k:
            return sorted(chosen)
    raise ValueError(f"--multi {k}: only {len(chosen)} faults of the pool can be planted together")


def removed_operations(faults: Iterable[str]) -> set[str]:
    """Labels of the operations the planted faults make unavailable (the catalogue's ``removes``)."""
    contract = load_contract()
    return {contract[op_id].label for name in faults for op_id in CATALOGUE[name].removes}


def is_masked(fault: Fault, removed: set[str]) -> bool:
    """True when every operation the fault's finding can name was removed by another planted fault."""
    if not removed or fault.finding is None:
        return False
    labels = [op.label for op in load_contract().seed_operations]
    reachable = [label for label in labels if any(fnmatch.fnmatchcase(label, p) for p in fault.finding.operations)]
    return bool(reachable) and all(label in removed for label in reachable)


def _headline(finding: dict[str, Any]) -> str:
    return (f"{finding.get('category')}: {finding.get('operation')}: {finding.get('check')} "
            f"({finding.get('signature')})")


def load_findings(path: Path) -> list[dict[str, Any]]:
    """The findings of a run's ``findings.json`` (a list, or an object with a ``findings`` list)."""
    data = json.loads(path.read_text())
    items = data.get("findings", []) if isinstance(data, dict) else data
    return [f for f in items if isinstance(f, dict)]


def score(seed: int, faults: list[str], findings: list[dict[str, Any]]) -> SeedResult:
    """Match a run's findings against the planted faults' recognisers."""
    result = SeedResult(seed, faults)
    removed = removed_operations(faults)
    for name in faults:
        own_removed = removed - removed_operations([name])
        if is_masked(CATALOGUE[name], own_removed):
            result.masked.append(name)
    recognisers = {name: CATALOGUE[name].finding for name in faults}
    result.expected = sum(r.expect for name, r in recognisers.items() if r is not None and name in result.scored)
    for name in faults:
        result.recalled[name] = 0
    kinds = set()
    for finding in findings:
        reproducible = finding.get("reproducible")
        if finding.get("category") not in DEFECT_CATEGORIES or reproducible is False:
            result.set_apart.append(_headline(finding))
            continue
        result.findings += 1
        kinds.add((finding.get("category"), finding.get("check"), finding.get("signature")))
        explained = [name for name, r in recognisers.items() if r is not None and r.matches(finding)]
        for name in explained:
            result.recalled[name] += 1
            result.matched.setdefault(name, []).append(_headline(finding))
        if not explained:
            result.unexplained.append(_headline(finding))
    result.kinds = len(kinds)
    return result


def run_seed(seed: int, faults: list[str], profile: str, workdir: Path, workers: int) -> SeedResult:
    """One run of every suite against the mock with all `faults` planted, scored."""
    reports = workdir / f"seed-{seed}"
    if reports.exists():
        shutil.rmtree(reports)
    env = {**os.environ, "HARNESS_FAULT": ",".join(faults), "HARNESS_REPORTS_DIR": str(reports)}
    env.pop("HARNESS_BASE_URL", None)
    cmd = [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
           "--profile", profile]
    if workers > 1:
        cmd += ["-n", str(workers)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - start
    path = reports / "findings.json"
    if proc.returncode not in (0, 1) or not path.exists():
        tail = (proc.stdout[-1500:] + proc.stderr[-1500:]).strip()
        return SeedResult(seed, faults, seconds=round(seconds, 1),
                          error=f"pytest exited {proc.returncode}; no findings.json: {tail[-600:]}")
    result = score(seed, faults, load_findings(path))
    result.seconds = round(seconds, 1)
    return result


@dataclass
class Totals:
    planted: int
    caught: int
    findings: int
    explained: int
    expected: int
    kinds: int

    @property
    def recall(self) -> float:
        return self.caught / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        return self.explained / self.findings if self.findings else 1.0

    @property
    def per_fault(self) -> float:
        return self.findings / self.expected if self.expected else 0.0


def totals(results: list[SeedResult]) -> Totals:
    ok = [r for r in results if r.error is None]
    return Totals(planted=sum(len(r.scored) for r in ok), caught=sum(r.caught for r in ok),
                  findings=sum(r.findings for r in ok), explained=sum(r.findings - len(r.unexplained) for r in ok),
                  expected=sum(r.expected for r in ok), kinds=sum(r.kinds for r in ok))


def render(results: list[SeedResult], k: int, profile: str, wall: float) -> str:
    t = totals(results)
    lines = [f"# Multi-fault matrix: {k} faults at once, {len(results)} seed(s), {profile} profile", "",
             f"Recall {t.recall:.1%} ({t.caught}/{t.planted} planted faults seen as their own finding); "
             f"precision {t.precision:.1%} ({t.explained}/{t.findings} findings explained by a planted fault); "
             f"{t.per_fault:.2f} findings per expected finding ({t.findings}/{t.expected}; "
             f"{t.kinds / t.expected if t.expected else 0:.2f} counting findings that differ only by operation "
             f"once: {t.kinds}/{t.expected}); wall time {wall:.0f} s.",
             "", "| seed | fault | findings matched | verdict |", "|---|---|---|---|"]
    for r in results:
        if r.error:
            lines.append(f"| {r.seed} | {', '.join(r.faults)} | — | ERROR: {r.error[:200]} |")
            continue
        for name in r.faults:
            verdict = "masked" if name in r.masked else ("seen" if r.recalled.get(name) else "MISSED")
            expect = getattr(CATALOGUE[name].finding, "expect", 1)
            lines.append(f"| {r.seed} | `{name}` | {r.recalled.get(name, 0)} (expects {expect}) | {verdict} |")
    for r in results:
        if r.unexplained:
            lines += ["", f"Seed {r.seed}: findings no planted fault explains:"]
            lines += [f"- {h}" for h in r.unexplained]
        if r.set_apart:
            lines += ["", f"Seed {r.seed}: flaky findings and harness errors (not counted):"]
            lines += [f"- {h}" for h in r.set_apart]
    return "\n".join(lines) + "\n"


def main(k: int, seeds: int, profile: str, jobs: int, out: Path, pool: list[str] | None, min_recall: float,
         min_precision: float, workers: int = 2) -> int:
    """Run `seeds` multi-fault runs (`jobs` at a time), print and write the table; 0 when the bars are met."""
    from concurrent.futures import ThreadPoolExecutor

    plans = [(seed, draw(seed, k, pool)) for seed in range(seeds)]
    start = time.monotonic()
    runs = out / "multifault-runs"  # each seed's reports (findings.json / .md) are kept here
    with ThreadPoolExecutor(max(jobs, 1)) as executor:
        futures = [executor.submit(run_seed, seed, faults, profile, runs, workers) for seed, faults in plans]
        results = []
        for future in futures:
            r = future.result()
            results.append(r)
            status = r.error or (f"{r.caught}/{len(r.scored)} faults seen, {r.findings} findings, "
                                 f"{len(r.unexplained)} unexplained")
            print(f"seed {r.seed}: {', '.join(r.faults)} -> {status} ({r.seconds:.0f} s)", flush=True)
    wall = time.monotonic() - start
    text = render(results, k, profile, wall)
    out.mkdir(parents=True, exist_ok=True)
    (out / "multifault.md").write_text(text)
    (out / "multifault.json").write_text(json.dumps(
        {"k": k, "profile": profile, "wall_seconds": round(wall, 1), "totals": asdict(totals(results)),
         "seeds": [asdict(r) for r in results]}, indent=1))
    print()
    print(text)
    print(f"written to {out / 'multifault.md'} and multifault.json")
    t = totals(results)
    failed = any(r.error for r in results) or t.recall < min_recall or t.precision < min_precision
    return 1 if failed else 0
