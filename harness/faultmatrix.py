"""The detection matrix: run the suites once per planted fault and once per chaos mode, and say what was caught.

    python -m harness.faultmatrix [--profile ci] [--faults a,b] [--chaos NAME ...] [--jobs 2] [--subset]
    python -m harness.faultmatrix --multi K --seeds N [--profile quick]   (K faults at once: harness.multifault)

A fault is caught when a run against the mock with that fault fails (stopping at the first failure: the time to
first failure is that run's wall time). A chaos mode passes when a full run against the (correct but unfriendly)
mock stays green. Writes reports/faultmatrix.json and reports/faultmatrix.md, prints the matrix, and exits
non-zero if any fault is missed or any chaos mode fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.catalogue import CATALOGUE, CatalogueError

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"

CHAOS_MODES = {
    "latency": "latency=0.01",
    "rate_limit": "rate_limit=0.15",
    "unavailable": "unavailable=0.15",
    "extra_fields": "extra_fields",
    "extra_headers": "extra_headers",
}

# One representative fault per check family: the bounded matrix CI runs on every submission.
SUBSET = ["has_more_always_false", "cursor_off_by_one", "amount_as_string", "create_returns_201",
          "error_without_param", "unknown_parameter_accepted", "void_accepts_draft", "payment_not_recorded",
          "update_dropped", "idempotency_ignored", "expand_ignored", "cross_account_read", "auth_not_required"]

SUITE_FILES = {  # the suite a fault should trip: run first so the first failure comes early
    "pagination": ["suites/test_pagination.py"],
    "conformance": ["suites/test_conformance.py"],
    "negative": ["suites/test_negative.py"],
    "lifecycle": sorted(str(p.relative_to(ROOT)) for p in (ROOT / "suites").glob("test_lifecycle_*.py")),
    "properties": ["suites/test_properties.py"],
    "security": ["suites/test_security.py"],
    "robustness": ["suites/test_robustness.py"],
}


@dataclass
class Outcome:
    name: str
    kind: str  # "fault" | "chaos"
    expected_suite: str
    ok: bool  # fault caught / chaos green
    verdict: str  # "caught", "MISSED", "green", "FALSE ALARM", "ERROR"
    first_failure: str | None
    seconds: float
    tests: int
    failures: int
    retries: int = 0


def _pytest(args: list[str], junit: Path, profile: str, env_extra: dict[str, str]) -> tuple[int, float, str]:
    env = {**os.environ, **env_extra, "HARNESS_REPORTS_DIR": str(junit.with_suffix(""))}  # keep reports/ clean
    env.pop("HARNESS_BASE_URL", None)
    cmd = [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", "--profile", profile,
           f"--junitxml={junit}", "-o", "junit_family=xunit2"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    return proc.returncode, time.monotonic() - start, proc.stdout[-3000:] + proc.stderr[-2000:]


def _junit(path: Path) -> tuple[int, int, str | None]:
    if not path.exists():
        return 0, 0, None
    root = ET.parse(path).getroot()
    tests = failures = 0
    first = None
    for case in root.iter("testcase"):
        tests += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failures += 1
            first = first or f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
    return tests, failures, first


def run_fault(name: str, profile: str, workdir: Path) -> Outcome:
    fault = CATALOGUE[name]
    files = SUITE_FILES.get(fault.caught_by, [])
    junit = workdir / f"fault-{name}.xml"
    env = {"HARNESS_FAULT": name}
    # The suite meant to catch it runs first; only if it stays green do the others run.
    code, seconds, tail = _pytest([*files, "-x"], junit, profile, env) if files else (0, 0.0, "")
    tests, failures, first = _junit(junit)
    if code == 0:
        ignored = [f"--ignore={f}" for f in files]
        code, more, tail = _pytest(["suites", *ignored, "-x"], junit, profile, env)
        seconds += more
        more_tests, failures, first = _junit(junit)
        tests += more_tests
    if code in (0, 1):
        caught = code == 1
        verdict = "caught" if caught else "MISSED"
    else:
        caught, verdict, first = False, "ERROR", f"pytest exited {code}: {tail[-300:]}"
    return Outcome(name, "fault", fault.caught_by, caught, verdict, first, round(seconds, 1), tests, failures)


def run_chaos(name: str, setting: str, profile: str, workdir: Path) -> Outcome:
    junit = workdir / f"chaos-{name}.xml"
    code, seconds, tail = _pytest(["suites"], junit, profile, {"HARNESS_CHAOS": setting})
    tests, failures, first = _junit(junit)
    ok = code == 0
    verdict = "green" if ok else ("FALSE ALARM" if code == 1 else "ERROR")
    if code not in (0, 1):
        first = f"pytest exited {code}: {tail[-300:]}"
    return Outcome(name, "chaos", "all", ok, verdict, first, round(seconds, 1), tests, failures)


def render(outcomes: list[Outcome], wall: float, profile: str) -> str:
    faults = [o for o in outcomes if o.kind == "fault"]
    chaos = [o for o in outcomes if o.kind == "chaos"]
    caught = sum(o.ok for o in faults)
    lines = [f"# Fault-detection matrix ({profile} profile)", "",
             f"Faults caught: {caught}/{len(faults)}; chaos modes green: {sum(o.ok for o in chaos)}/{len(chaos)}; "
             f"wall time {wall:.0f} s.", "",
             "| fault | expected suite | verdict | first failing test | time to first failure |",
             "|---|---|---|---|---|"]
    for o in faults:
        lines.append(f"| `{o.name}` | {o.expected_suite} | {o.verdict} | {o.first_failure or '—'} | {o.seconds} s |")
    if chaos:
        lines += ["", "| chaos mode | verdict | tests | failures | wall time |", "|---|---|---|---|---|"]
        for o in chaos:
            lines.append(f"| `{o.name}` | {o.verdict} | {o.tests} | {o.failures}"
                         f"{' (' + o.first_failure + ')' if o.first_failure else ''} | {o.seconds} s |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.faultmatrix", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci", choices=["quick", "ci", "deep"])
    parser.add_argument("--faults", help="comma-separated fault names (default: the whole catalogue)")
    parser.add_argument("--subset", action="store_true", help="one representative fault per family (CI's run)")
    parser.add_argument("--chaos", action="append", choices=sorted(CHAOS_MODES),
                        help="chaos modes to run (default: all); --no-chaos skips them")
    parser.add_argument("--no-chaos", action="store_true")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (each is one pytest process)")
    parser.add_argument("--out", type=Path, default=REPORTS, help="folder for faultmatrix.json / .md")
    multi = parser.add_argument_group("many faults at once (see harness/multifault.py)")
    multi.add_argument("--multi", type=int, metavar="K", help="plant K random faults per run and score the findings "
                       "(recall, precision, findings per planted fault); --faults limits the pool drawn from")
    multi.add_argument("--seeds", type=int, default=1, metavar="N", help="runs, seeds 0..N-1 (default 1)")
    multi.add_argument("--min-recall", type=float, default=0.95, help="exit 1 below this recall (default 0.95)")
    multi.add_argument("--min-precision", type=float, default=1.0, help="exit 1 below this precision (default 1)")
    multi.add_argument("--workers", type=int, default=2, help="xdist workers per run (default 2)")
    args = parser.parse_args(argv)
    try:
        len(CATALOGUE)  # the mock lists its faults (a process): a broken mock is one clear message, not a traceback
    except CatalogueError as exc:
        print(f"harness.faultmatrix: {exc}", file=sys.stderr)
        return 2

    if args.multi is not None:
        from harness import multifault

        pool = args.faults.split(",") if args.faults else None
        unknown = [n for n in pool or () if n not in CATALOGUE]
        if unknown:
            parser.error(f"unknown faults: {', '.join(unknown)} (see python -m mockserver --fault list)")
        if args.multi < 1 or args.seeds < 1:
            parser.error("--multi and --seeds must be at least 1")
        try:
            return multifault.main(args.multi, args.seeds, args.profile, args.jobs, args.out, pool,
                                   args.min_recall, args.min_precision, args.workers)
        except ValueError as exc:
            parser.error(str(exc))
    names = [] if args.no_faults else (args.faults.split(",") if args.faults else
                                       (SUBSET if args.subset else list(CATALOGUE)))
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        parser.error(f"unknown faults: {', '.join(unknown)} (see python -m mockserver --fault list)")
    chaos = [] if args.no_chaos else (args.chaos or list(CHAOS_MODES))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faultmatrix-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        workdir = Path(tmp)
        futures = [pool.submit(run_fault, n, args.profile, workdir) for n in names]
        futures += [pool.submit(run_chaos, c, CHAOS_MODES[c], args.profile, workdir) for c in chaos]
        outcomes = []
        for future in futures:
            outcome = future.result()
            outcomes.append(outcome)
            print(f"{outcome.kind:5} {outcome.name:<36} {outcome.verdict:<11} {outcome.seconds:>6.1f} s  "
                  f"{outcome.first_failure or ''}", flush=True)
    wall = time.monotonic() - start
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "faultmatrix.json").write_text(json.dumps({
        "profile": args.profile, "wall_seconds": round(wall, 1), "outcomes": [asdict(o) for o in outcomes]},
        indent=1))
    text = render(outcomes, wall, args.profile)
    (args.out / "faultmatrix.md").write_text(text)
    print()
    print(text)
    print(f"written to {args.out / 'faultmatrix.md'} and faultmatrix.json")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
