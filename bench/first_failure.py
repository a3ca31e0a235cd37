"""Time to first failure: how soon `pytest suites -n 2 --profile ci -x` reports a planted fault.

`python -m bench firstfailure [--sample N | --faults a,b | --all] [--profile ci] [--vs-ref REV] [--budget S]`

For each fault of the catalogue (`harness.catalogue.CATALOGUE`; by default a sample of 12 taken one family at a
time, as `bench headtohead --sample` does), one run of `python -m pytest suites -n 2 --profile ci -x --fault NAME`
on the embedded mock, the way a developer or CI would run it: every suite, in the order the harness gives them
(no "suite meant to catch it" first). The benchmark's pytest plugin (`-p bench.head_to_head`) notes when the
process started and when the first test failed; time to first failure is the difference, start-up included. A
run with no failure within `--budget` seconds counts as missed (and its time as the budget).

Prints median and max over the faults, and a row per fault (with `--vs-ref`, the same for another revision,
alternating per fault), and writes them to reports/bench-first-failure.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.publish import publish
from bench.suites_throughput import checkout, describe, env_for

ROOT = Path(__file__).resolve().parent.parent
EVENTS = "headtohead-events.jsonl"  # what bench.head_to_head's plugin writes


def note(msg: str) -> None:
    print(f"[firstfailure] {msg}", file=sys.stderr, flush=True)


@dataclass
class Outcome:
    fault: str
    seconds: float  # to the first failure, or the budget when none came
    caught: bool
    test: str = ""


def run_one(fault: str, code: Path, args: argparse.Namespace, work: Path) -> Outcome:
    folder = work / f"{fault}-{abs(hash(str(code))) % 10_000}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = env_for(code, folder)
    env["HEADTOHEAD_REPORTS"] = str(folder)
    env["PYTHONPATH"] = os.pathsep.join([str(code), str(ROOT)])  # the plugin module comes from this checkout
    cmd = [sys.executable, "-m", "pytest", "suites", "-n", str(args.workers), "--profile", args.profile, "-x", "-q",
           "-p", "no:cacheprovider", "-p", "bench.head_to_head", "--fault", fault, *args.pytest_args]
    started_at = time.time()
    with (folder / "pytest.log").open("wb") as out, contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(cmd, cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=args.budget + 30,
                       check=False)
    events = folder / EVENTS
    for line in events.read_text().splitlines() if events.exists() else []:
        event = json.loads(line)
        at = event["at"] - started_at
        if event["kind"] == "failed" and at <= args.budget:
            return Outcome(fault, at, True, event["test"].removeprefix("suites/"))
    return Outcome(fault, args.budget, False)


def summary(rows: list[Outcome]) -> str:
    times = [r.seconds for r in rows]
    caught = sum(r.caught for r in rows)
    return (f"median {statistics.median(times):.1f} s, max {max(times):.1f} s, "
            f"caught {caught}/{len(rows)}") if rows else "-"


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench firstfailure", description=__doc__.split("\n\n")[0])
    which = p.add_mutually_exclusive_group()
    which.add_argument("--sample", type=int, default=12, help="faults, one family at a time (default 12)")
    which.add_argument("--faults", default=None, help="comma-separated fault names")
    which.add_argument("--all", action="store_true", help="the whole catalogue")
    p.add_argument("--profile", default="ci")
    p.add_argument("--workers", default="2")
    p.add_argument("--budget", type=float, default=180.0, help="seconds before a run counts as missed")
    p.add_argument("--vs-ref", default=None, help="also measure this git revision (alternating per fault)")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--report", type=Path, default=ROOT / "reports" / "bench-first-failure.md")
    p.add_argument("--quick", action="store_true", help="smoke: one fault, quick profile, 60 s budget")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args(argv)
    if args.quick:
        args.profile, args.budget, args.faults = "quick", 60.0, args.faults or "amount_as_string"
    return args


def main(argv: list[str] | None = None) -> int:
    from bench.head_to_head import sample_faults
    from harness.catalogue import CATALOGUE

    args = parse(list(sys.argv[1:] if argv is None else argv))
    if args.faults:
        faults = [f for f in args.faults.split(",") if f]
    elif args.all:
        faults = list(CATALOGUE)
    else:
        faults = sample_faults(args.sample)
    unknown = [f for f in faults if f not in CATALOGUE]
    if unknown:
        print(f"error: unknown fault(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-firstfailure-"))
    work.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()[0]]
    sides: list[tuple[str, Path]] = [(f"this checkout ({describe(ROOT)})", ROOT)]
    results: dict[str, list[Outcome]] = {}
    with contextlib.ExitStack() as stack:
        if args.vs_ref:
            ref_path = stack.enter_context(checkout(args.vs_ref, work))
            sides.append((f"{args.vs_ref} ({describe(ref_path)})", ref_path))
        for fault in faults:
            for name, code in sides:
                outcome = run_one(fault, code, args, work)
                results.setdefault(name, []).append(outcome)
                note(f"{name[:14]} {fault}: {'caught' if outcome.caught else 'MISSED'} in {outcome.seconds:.1f} s "
                     f"{outcome.test}")
            load.append(os.getloadavg()[0])
    names = list(results)
    lines = [f"# Time to first failure: `pytest suites -n {args.workers} --profile {args.profile} -x --fault F`", "",
             f"{len(faults)} faults, budget {args.budget:.0f} s; load average (1 min): "
             + ", ".join(f"{x:.1f}" for x in load) + f"; {os.cpu_count()} cores.", "",
             "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
             "| **summary** | " + " | ".join(summary(results[n]) for n in names) + " |"]
    for i, fault in enumerate(faults):
        cells = []
        for n in names:
            r = results[n][i]
            cells.append(f"{r.seconds:.1f} s {r.test}" if r.caught else f"missed ({r.seconds:.0f} s)")
        lines.append(f"| {fault} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    publish(text, args.report)
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
