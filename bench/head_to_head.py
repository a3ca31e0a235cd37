"""Head to head: the plain Schemathesis CLI and our suites on the same target, machine and wall-clock budget.

`python -m bench headtohead [--budget S] [--fault-budget S] [--faults a,b | --sample N] [--quick]`

1. Clean mock, `--budget` seconds each: plain `schemathesis run` with its defaults (and `--max-time`), then
   `pytest suites -n 2 --profile ci`; each against its own fresh embedded mock started alone (`--base-url`).
   Measured: checked requests per second, operations called / answered 2xx (of 50), failures (false alarms).
2. Per planted fault (`harness.catalogue.CATALOGUE`), a fresh mock with that fault for each tool, stopping at the
   first failure (`--max-failures 1` / `-x`) or at `--fault-budget` seconds. Schemathesis fails on the clean mock
   too, so its run uses the failures of step 1 as a `--baseline` (widened to every operation): only a failure
   the clean mock does not produce counts as catching the fault. A control run with no fault checks that rule.

Prints one table and writes it to reports/head-to-head.md (reports/head-to-head-quick.md with --quick).

This module is also a pytest plugin (`-p bench.head_to_head`): with HEADTOHEAD_REPORTS set, it points the harness
plugin's reports folder there, so the benchmark's coverage parts neither clobber nor get clobbered by other runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.publish import publish

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "contracts" / "openapi.yaml"
REPORTS_ENV = "HEADTOHEAD_REPORTS"
EVENTS = "headtohead-events.jsonl"
STOP_GRACE = 25.0  # seconds a tool gets to wind down (write its reports) after SIGINT, before SIGTERM/SIGKILL
TARGET_RATIO = 10.0  # issue 13: at least 10x plain Schemathesis's checked requests per second
CONTROL = "control"  # the per-fault mode on the clean mock
TIMES = "\u00d7"
SUITES_BY_FAMILY_OWNER = ("pagination", "conformance", "negative", "lifecycle", "properties", "security")
MEASURED_CODE = ("suites", "harness", "strategies", "contracts", "mockserver", "conftest.py")
FAILED_LINE = re.compile(r"^(?:\[gw\d+\] (?:\[\s*\d+%\] )?)?(FAILED|ERROR) (suites/\S+)")


# -- pytest plugin side --------------------------------------------------------------------------------------


_events: Path | None = None  # set in the controlling pytest process only
_seen: set[str] = set()


def pytest_configure(config: Any) -> None:
    """Loaded with `-p bench.head_to_head`: send the harness's coverage parts and matrix to HEADTOHEAD_REPORTS,
    and (controlling process) note when the first test started and when each test failed."""
    global _events
    folder = os.environ.get(REPORTS_ENV)
    if folder:
        import harness.plugin

        harness.plugin.REPORTS = Path(folder)
        if not hasattr(config, "workerinput"):
            _events = Path(folder) / EVENTS


def _event(kind: str, nodeid: str) -> None:
    if _events is not None:
        with _events.open("a") as fh:
            fh.write(json.dumps({"kind": kind, "at": time.time(), "test": nodeid}) + "\n")


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    if "start" not in _seen:
        _seen.add("start")
        _event("start", nodeid)


def pytest_runtest_logreport(report: Any) -> None:
    if report.failed:
        _event("failed", report.nodeid)


# -- processes -----------------------------------------------------------------------------------------------


@dataclass
class Finished:
    code: int | None
    wall: float
    stopped: bool  # stopped at the budget (SIGINT) rather than ending by itself
    output: Path
    budget: float
    started_at: float  # time.time() when the process was started

    @property
    def active(self) -> float:
        """Seconds the tool was working: its wall time, or the budget when it was stopped (not the wind-down)."""
        return min(self.wall, self.budget) if self.stopped else self.wall


def note(msg: str) -> None:
    print(f"[headtohead] {msg}", file=sys.stderr, flush=True)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the tool's own session (start_new_session): it and its workers only


def _default_sigint() -> None:
    """In the child: SIGINT back to its default, even if this process was started with it ignored (`cmd &`)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_bounded(cmd: list[str], cwd: Path, env: dict[str, str], budget: float, output: Path) -> Finished:
    """Run `cmd` in its own session; at `budget` s send SIGINT (reports still get written), then escalate."""
    start, started_at = time.monotonic(), time.time()
    with output.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_default_sigint)
        stopped = False
        try:
            proc.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            stopped = True
            _signal_group(proc, signal.SIGINT)
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                    proc.wait(timeout=10)
        except BaseException:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)
            raise
    wall = time.monotonic() - start
    return Finished(proc.returncode, wall, stopped, output, budget, started_at)


def clean_env() -> dict[str, str]:
    """The environment minus anything that would configure either tool behind the command line's back."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "SCHEMATHESIS_", "PYTEST_ADDOPTS", REPORTS_ENV))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return env


@contextlib.contextmanager
def mock(faults: tuple[str, ...] = ()) -> Iterator[Any]:
    """A fresh embedded mock, started alone (one process), stopped on exit."""
    from harness.target import start_embedded_mock

    with start_embedded_mock(faults=faults, label="h2h") as target:
        yield target


def code_state() -> str:
    """The commit measured, and whether the code both tools exercise had uncommitted changes."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [line[3:] for line in git("status", "--porcelain", "--", *MEASURED_CODE).splitlines() if line[3:]]
    return f"commit {commit}" + (f" with uncommitted changes in {', '.join(dirty[:6])}" if dirty else "")


def seed_labels() -> set[str]:
    from contracts.loader import load_contract

    return {op.label for op in load_contract().seed_operations}


# -- Schemathesis --------------------------------------------------------------------------------------------


def st_executable() -> str:
    return str(Path(sys.executable).with_name("schemathesis"))


def st_version() -> str:
    try:
        done = subprocess.run([st_executable(), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    return done.stdout.strip().rsplit(" ", 1)[-1] or "unknown"


def st_options(budget: float, reports: str, extra: list[str]) -> list[str]:
    """The options we give Schemathesis: a time budget and report files, nothing that changes what it tests."""
    return ["--max-time", str(max(1, round(budget))), "--report", reports, "--no-color", *extra]


def st_command(url: str, key: str, options: list[str], report_dir: Path) -> list[str]:
    return [st_executable(), "run", str(CONTRACT), "--url", url, "-H", f"Authorization: Bearer {key}", *options,
            "--report-dir", str(report_dir)]


def shown(cmd: list[str]) -> str:
    """A command line for the report: the key elided, paths relative to the project."""
    text = shlex.join(cmd).replace(sys.executable, "python").replace(str(ROOT) + "/", "")
    text = re.sub(r"sk_test_\w+", "sk_test_…", text)
    return re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:PORT", text)


@dataclass
class StRun:
    finished: Finished
    report: dict[str, Any]
    interactions: int = 0
    checked: int = 0
    ops_called: set[str] = field(default_factory=set)
    ops_2xx: set[str] = field(default_factory=set)
    engine_started: float | None = None  # seconds from start to the engine's start (schema loaded)


def read_st_reports(report_dir: Path, finished: Finished, labels: set[str]) -> StRun:
    """Totals from Schemathesis's own reports: the JSON run report and the NDJSON event stream."""
    jsons = sorted(report_dir.glob("json-*.json"))
    report = json.loads(jsons[-1].read_text()) if jsons else {}
    run = StRun(finished, report)
    for path in sorted(report_dir.glob("ndjson-*.ndjson")):
        with path.open() as fh:
            for line in fh:
                if line.startswith('{"EngineStarted"'):
                    run.engine_started = json.loads(line)["EngineStarted"]["timestamp"] - finished.started_at
                if not line.startswith('{"ScenarioFinished"'):
                    continue
                recorder = json.loads(line)["ScenarioFinished"].get("recorder") or {}
                cases, checks = recorder.get("cases", {}), recorder.get("checks", {})
                for case_id, interaction in (recorder.get("interactions") or {}).items():
                    run.interactions += 1
                    run.checked += bool(checks.get(case_id))
                    value = (cases.get(case_id) or {}).get("value") or {}
                    label = f"{value.get('method', '')} {value.get('path', '')}"
                    if label not in labels:
                        continue
                    run.ops_called.add(label)
                    status = (interaction.get("response") or {}).get("status_code") or 0
                    if 200 <= status < 300:
                        run.ops_2xx.add(label)
    return run


def st_failures(report: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(code, title, operations) per failure kind of a JSON run report."""
    return [(f.get("code", "?"), f.get("title", f.get("type", "?")), list(f.get("operations", [])))
            for f in report.get("failures", [])]


def widen_baseline(source: Path, dest: Path, labels: set[str]) -> int:
    """Every kind (check, failure, signature) of clean-mock failure, accepted on every operation."""
    entries = json.loads(source.read_text()).get("entries", []) if source.exists() else []
    kinds = {(e["check"], e["failure"], e["signature"]) for e in entries}
    out = [{"operation": op, "check": c, "failure": f, "signature": s} for (c, f, s) in sorted(kinds)
           for op in sorted(labels | {e["operation"] for e in entries})]
    dest.write_text(json.dumps({"format_version": 1, "entries": out}, indent=1))
    return len(kinds)


def new_failure(report: dict[str, Any], baseline: Path) -> str | None:
    """The failures a run reported that the baseline does not cover (by failure class and operation)."""
    if not report:
        return None
    known = {(e["failure"], e["operation"]) for e in json.loads(baseline.read_text())["entries"]}
    news = []
    for f in report.get("failures", []):
        ops = [op for op in f.get("operations", []) if (f.get("type"), op) not in known]
        if ops:
            news.append(f"{f.get('code', '?')} {f.get('title', '')} @ {', '.join(ops[:2])}")
    if not news and (report.get("baseline") or {}).get("new"):
        news.append("new failure (see the Schemathesis report)")
    return "; ".join(news) or None


# -- our suites ----------------------------------------------------------------------------------------------


def suite_command(target: Any, profile: str, workers: int, junit: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *extra, "-n", str(workers), "--profile", profile, "-p", "no:cacheprovider",
            "-p", "bench.head_to_head", "-q", "-rfE", f"--junitxml={junit}", "-o", "junit_family=xunit2",
            "--base-url", target.base_url, "--api-key", target.api_key, "--second-api-key", target.second_api_key,
            # The benchmark's own mock: no pace (a --base-url run is paced at 20 requests/s unless told otherwise),
            # no clean-up at the end (it goes away with the run), as Schemathesis neither paces nor cleans up.
            "--max-rps", "unlimited", "--keep-objects"]


@dataclass
class OursRun:
    finished: Finished
    exchanges: int = 0
    ops_called: set[str] = field(default_factory=set)
    ops_2xx: set[str] = field(default_factory=set)
    tests: int = 0
    first_test: float | None = None  # seconds from start to the first test (start-up: launch, collection)
    failed: list[tuple[float, str]] = field(default_factory=list)  # (seconds from start, test) within the budget
    late: int = 0  # failures reported after the budget (the interrupt's, not the target's)


def read_ours(finished: Finished, reports: Path, junit: Path) -> OursRun:
    """Exchanges from the harness's coverage parts; test count from JUnit; failures, timed, from our plugin."""
    from contracts.loader import load_contract

    contract = load_contract()
    by_id = {op.operation_id: op for op in contract.seed_operations}
    run = OursRun(finished)
    for part in sorted((reports / "coverage-parts").glob("*.json")):
        for op_id, data in json.loads(part.read_text()).items():
            run.exchanges += int(data.get("calls", 0))
            op = by_id.get(op_id)
            if op is None or not data.get("calls"):
                continue
            run.ops_called.add(op.label)
            if any(s.isdigit() and 200 <= int(s) < 300 for s in data.get("statuses", {})):
                run.ops_2xx.add(op.label)
    if junit.exists():
        with contextlib.suppress(ET.ParseError):
            run.tests = sum(1 for _ in ET.parse(junit).getroot().iter("testcase"))
    events = reports / EVENTS
    for line in events.read_text().splitlines() if events.exists() else []:
        event = json.loads(line)
        at = event["at"] - finished.started_at
        if event["kind"] == "start":
            run.first_test = at
        elif at <= finished.budget:
            run.failed.append((round(at, 1), event["test"].removeprefix("suites/")))
        else:
            run.late += 1
    if not events.exists() and finished.code not in (0, 5):  # no plugin events: fall back on the output
        text = finished.output.read_text(errors="replace") if finished.output.exists() else ""
        run.failed = [(finished.wall, m.group(2)) for line in text.splitlines() if (m := FAILED_LINE.match(line))]
    return run


def suite_files(fault: str) -> list[str]:
    """The suite a fault should trip first (as in harness.faultmatrix), then the others. Files, not `suites`:
    given a file and then its folder, pytest collects in folder order and the file loses its place."""
    from harness.catalogue import CATALOGUE
    from harness.faultmatrix import SUITE_FILES

    first = SUITE_FILES.get(CATALOGUE[fault].caught_by, []) if fault in CATALOGUE else []
    every = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "suites").glob("test_*.py"))
    return [*first, *(f for f in every if f not in first)]


# -- fault sample --------------------------------------------------------------------------------------------


def family_order() -> tuple[dict[str, list[str]], list[str]]:
    """Faults by family (catalogue order), and the families interleaved across the suites that own them."""
    from harness.catalogue import CATALOGUE

    families: dict[str, list[str]] = {}
    for f in CATALOGUE.values():
        families.setdefault(f.family, []).append(f.name)
    owners: dict[str, list[str]] = {}
    for fam, names in families.items():
        owners.setdefault(CATALOGUE[names[0]].caught_by, []).append(fam)
    lanes = [owners[s] for s in SUITES_BY_FAMILY_OWNER if s in owners] + \
            [v for k, v in owners.items() if k not in SUITES_BY_FAMILY_OWNER]
    order = [lane[i] for i in range(max(map(len, lanes))) for lane in lanes if i < len(lane)]
    return families, order


def sample_faults(n: int) -> list[str]:
    """A deterministic sample: one fault per family in turn (families interleaved across suites), then again."""
    families, order = family_order()
    picks: list[str] = []
    for depth in range(max(map(len, families.values()))):
        for fam in order:
            if len(picks) < n and depth < len(families[fam]):
                picks.append(families[fam][depth])
    return picks


# -- the benchmark -------------------------------------------------------------------------------------------


@dataclass
class FaultRow:
    name: str
    family: str
    st_verdict: str
    st_detail: str
    st_seconds: float
    ours_verdict: str
    ours_detail: str
    ours_seconds: float


@dataclass
class Bench:
    args: argparse.Namespace
    work: Path
    labels: set[str]
    version: str
    load: list[tuple[str, tuple[float, float, float]]] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)
    st_clean: StRun | None = None
    ours_clean: OursRun | None = None
    rows: list[FaultRow] = field(default_factory=list)
    baseline_kinds: int = 0
    code: str = ""

    def shown(self, cmd: list[str]) -> str:
        return shown(cmd).replace(str(self.work), "$TMP")

    def mark_load(self, when: str) -> None:
        self.load.append((when, os.getloadavg()))
        note(f"load average {when}: {tuple(round(x, 2) for x in os.getloadavg())}")

    # -- step 1: clean mock, full budget ---------------------------------------------------------------------

    def run_st(self, name: str, faults: tuple[str, ...], budget: float, extra: list[str],
               reports: str) -> StRun:
        folder = self.work / f"st-{name}"
        folder.mkdir()
        with mock(faults) as target:
            cmd = st_command(target.base_url, target.api_key, st_options(budget, reports, extra), folder / "rep")
            self.commands.setdefault("st-fault" if faults or name == CONTROL else f"st-{name}", self.shown(cmd))
            finished = run_bounded(cmd, folder, clean_env(), budget + STOP_GRACE, folder / "output.txt")
        return read_st_reports(folder / "rep", finished, self.labels)

    def run_ours(self, name: str, faults: tuple[str, ...], budget: float, profile: str, workers: int,
                 extra: list[str]) -> OursRun:
        folder = self.work / f"ours-{name}"
        (folder / "reports").mkdir(parents=True)
        env = {**clean_env(), REPORTS_ENV: str(folder / "reports")}
        with mock(faults) as target:
            cmd = suite_command(target, profile, workers, folder / "junit.xml", extra)
            self.commands.setdefault("ours-fault" if faults or name == CONTROL else f"ours-{name}", self.shown(cmd))
            finished = run_bounded(cmd, ROOT, env, budget, folder / "output.txt")
        return read_ours(finished, folder / "reports", folder / "junit.xml")

    def clean(self) -> None:
        budget = self.args.budget
        self.mark_load("before the clean runs")
        note(f"Schemathesis on the clean mock, {budget:g} s ...")
        recorded = self.work / "baseline-clean.json"
        self.st_clean = self.run_st("clean", (), budget, ["--baseline", str(recorded), "--baseline-update"],
                                    "json,ndjson")
        self.baseline_kinds = widen_baseline(recorded, self.work / "baseline.json", self.labels)
        note(f"  {self.st_clean.checked} checked requests in {self.st_clean.finished.active:.1f} s")
        note(f"our suites (ci profile) on the clean mock, {budget:g} s ...")
        self.ours_clean = self.run_ours("clean", (), budget, "ci", 2, ["suites"])
        note(f"  {self.ours_clean.exchanges} exchanges in {self.ours_clean.finished.active:.1f} s, "
             f"{len(self.ours_clean.failed)} failed")

    # -- step 2: one run per fault and tool ------------------------------------------------------------------

    def fault(self, name: str) -> FaultRow:
        from harness.catalogue import CATALOGUE

        faults = (name,) if name in CATALOGUE else ()
        budget = self.args.fault_budget
        st = self.run_st(name, faults, budget, ["--max-failures", "1", "--baseline", str(self.work / "baseline.json")],
                         "json")
        found = new_failure(st.report, self.work / "baseline.json")
        if not st.report:
            st_verdict, st_detail = "ERROR", f"no report (exit {st.finished.code})"
        else:
            st_verdict = "caught" if found else "missed"
            st_detail = found or f"stopped: {st.report.get('stop_reason', '?')}"
        ours = self.run_ours(name, faults, budget, self.args.fault_profile, self.args.fault_workers,
                             ["-x", *suite_files(name)])
        code, ours_seconds = ours.finished.code, ours.finished.active
        started = f"first test at {ours.first_test:.1f} s" if ours.first_test is not None else "no test started"
        if ours.failed:
            ours_seconds, test = ours.failed[0]
            ours_verdict, ours_detail = "caught", test
        elif ours.finished.stopped or ours.late:
            ours_verdict, ours_detail = "missed", f"budget spent ({started}; {ours.tests} tests ran)"
        elif code == 0:
            ours_verdict, ours_detail = "missed", f"all {ours.tests} tests green"
        else:
            tail = ours.finished.output.read_text(errors="replace")[-300:].strip().replace("\n", " ")
            ours_verdict, ours_detail = "ERROR", f"pytest exited {code}: {tail}"
        family = CATALOGUE[name].family if faults else "—"
        row = FaultRow(name, family, st_verdict, st_detail, round(st.finished.wall, 1), ours_verdict, ours_detail,
                       round(ours_seconds, 1))
        note(f"  {name:<36} Schemathesis {st_verdict:<7} {row.st_seconds:>5.1f} s | ours {ours_verdict:<7} "
             f"{row.ours_seconds:>5.1f} s")
        return row


def pick_faults(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    from harness.catalogue import CATALOGUE

    if args.faults:
        names = [n.strip() for n in args.faults.split(",") if n.strip()]
        unknown = [n for n in names if n not in CATALOGUE]
        if unknown:
            parser.error(f"unknown faults: {', '.join(unknown)} (see python -m mockserver --fault list)")
        return names
    if args.sample is not None:
        return sample_faults(args.sample)
    return list(CATALOGUE)


# -- report --------------------------------------------------------------------------------------------------


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def render(b: Bench, faults: list[str], wall: float) -> str:
    from harness.catalogue import CATALOGUE

    st, ours = b.st_clean, b.ours_clean
    assert st is not None and ours is not None
    st_rate, ours_rate = _rate(st.checked, st.finished.active), _rate(ours.exchanges, ours.finished.active)
    ratio = ours_rate / st_rate if st_rate else float("inf")
    st_up = st.engine_started or 0.0
    ours_up = ours.first_test if ours.first_test is not None else ours.finished.active
    st_steady = _rate(st.checked, float(st.report.get("running_time") or st.finished.active - st_up))
    ours_steady = _rate(ours.exchanges, ours.finished.active - ours_up)
    steady_ratio = ours_steady / st_steady if st_steady else float("inf")
    fault_rows = [r for r in b.rows if r.name in CATALOGUE]
    control = next((r for r in b.rows if r.name == CONTROL), None)
    st_caught = sum(r.st_verdict == "caught" for r in fault_rows)
    ours_caught = sum(r.ours_verdict == "caught" for r in fault_rows)
    st_alarms = int((st.report.get("test_cases") or {}).get("unique_failures", 0))
    kinds = ", ".join(f"{len(ops)} {code}" for code, _, ops in st_failures(st.report))
    ours_alarms = len(ours.failed)
    ours_first = f" (first: {ours.failed[0][1]})" if ours.failed else ""
    families = {CATALOGUE[n].family for n in faults}
    all_families = {f.family for f in CATALOGUE.values()}
    if ours.finished.stopped:
        stopped = (f" (stopped at the budget after {ours.tests:,} tests; the "
                   f"{ours.finished.wall - ours.finished.active:.1f} s wind-down not counted)")
    else:
        stopped = f" ({ours.tests:,} tests, run complete)"
    loads = "; ".join(f"{when}: {a:.2f} {b_:.2f} {c:.2f}" for when, (a, b_, c) in b.load)
    n = len(fault_rows)
    out = [
        "# Head to head: plain Schemathesis vs our suites", "",
        f"Same target (the embedded mock, `python -m mockserver`, one fresh process per run, started alone), same "
        f"machine ({os.cpu_count()} cores), same wall-clock budget: {b.args.budget:g} s on the clean mock"
        + (f", {b.args.fault_budget:g} s per fault" if b.rows else "")
        + f". Load average (1, 5, 15 min) {loads}. Code: {b.code}.", "",
        f"| measure | Schemathesis {b.version} (plain CLI, defaults) | our suites (`-n 2 --profile ci`) "
        "| ours / theirs |",
        "|---|---|---|---|",
        f"| checked requests sent | {st.checked:,} in {st.finished.active:.1f} s (stop: "
        f"{st.report.get('stop_reason', 'no report')}; engine {st.report.get('running_time') or 0:.1f} s) "
        f"| {ours.exchanges:,} in {ours.finished.active:.1f} s{stopped} | |",
        f"| **checked requests / s** | **{st_rate:,.1f}** | **{ours_rate:,.1f}** | **{ratio:.2f}{TIMES}** |",
        f"| start-up before the first request (schema loading / pytest collection on 2 workers) | {st_up:.1f} s "
        f"| {'' if ours.first_test is not None else '> '}{ours_up:.1f} s | |",
        f"| checked requests / s after start-up | {st_steady:,.1f} | {ours_steady:,.1f} | {steady_ratio:.2f}{TIMES} |",
        f"| operations called (of {len(b.labels)}) | {len(st.ops_called)} | {len(ours.ops_called)} | |",
        f"| operations answered 2xx at least once (of {len(b.labels)}) | {len(st.ops_2xx)} | {len(ours.ops_2xx)} | |",
    ]
    if fault_rows:
        out.append(f"| **faults caught** ({n} of the {len(CATALOGUE)} in the catalogue, {len(families)} of its "
                   f"{len(all_families)} families) | **{st_caught}/{n}** | **{ours_caught}/{n}** | |")
    out.append(f"| **false alarms on the clean mock** (unique failures / failed tests) | **{st_alarms}**"
               f"{' (' + kinds + ')' if kinds else ''} | **{ours_alarms}**{ours_first} | |")
    if control is not None:
        out.append(f"| false alarms in the control run (per-fault mode, no fault) | "
                   f"{int(control.st_verdict != 'missed')} | {int(control.ours_verdict != 'missed')} | |")
    out += ["", f"Targets: ≥ {TARGET_RATIO}{TIMES} Schemathesis's checked requests/s: "
            f"**{'met' if ratio >= TARGET_RATIO else 'NOT met'}** ({ratio:.2f}{TIMES} over the whole budget, "
            f"{steady_ratio:.2f}{TIMES} after start-up)"]
    if fault_rows:
        met = ours_caught > st_caught and ours_alarms == 0
        out[-1] += (f"; strictly more faults caught with zero false alarms: **{'met' if met else 'NOT met'}** "
                    f"({ours_caught} vs {st_caught}, {ours_alarms} false alarms)")
        only_st = [r.name for r in fault_rows if r.st_verdict == "caught" and r.ours_verdict != "caught"]
        out[-1] += ".\nFaults Schemathesis caught that our suites missed: " + \
            (", ".join(f"`{x}`" for x in only_st) or "none")
    out[-1] += "."
    if b.args.quick:
        out.append("This was a --quick smoke run: with 10 s budgets pytest's start-up (collection on two workers) "
                   "eats most of the budget, so the figures say the code works, not which tool is faster.")
    if b.rows:
        out += ["", "## Per fault", "",
                "| fault | family | Schemathesis | first new failure / stop | time | ours | first failing test / stop "
                "| time to it |", "|---|---|---|---|---|---|---|---|"]
        for r in b.rows:
            label = "(control: no fault)" if r.name == CONTROL else f"`{r.name}`"
            out.append(f"| {label} | {r.family} | {r.st_verdict} | {_cell(r.st_detail)} | {r.st_seconds} s | "
                       f"{r.ours_verdict} | {_cell(r.ours_detail)} | {r.ours_seconds} s |")
    command = f"python -m bench headtohead {shlex.join(b.args.argv)}".strip()
    out += ["", "## How it was run", "", *how_it_was_run(b, faults), "",
            f"Wall time of the whole benchmark: {wall / 60:.1f} min. Reproduce: `{command}`"]
    return "\n".join(out) + "\n"


def how_it_was_run(b: Bench, faults: list[str]) -> list[str]:
    out = [f"- Schemathesis {b.version}, `schemathesis run` with its defaults (all phases, all checks, one worker, "
           "generation mode `all`); we add only a time budget and report files. It sends arrays as repeated keys "
           "(no Stripe bracket encoding): that is what plain Schemathesis does. Run from an empty folder (no "
           "`schemathesis.toml`, no example database), `SCHEMATHESIS_*` variables removed.",
           f"- Schemathesis, clean run: `{b.commands.get('st-clean', '')}`",
           f"- Our suites, clean run: `{b.commands.get('ours-clean', '')}`"]
    if b.rows:
        out += [f"- Schemathesis, per fault: `{b.commands.get('st-fault', '')}`. The baseline holds every kind "
                f"(check, failure class, signature) of failure the clean run reported ({b.baseline_kinds} kinds), "
                "accepted on every operation: a fault counts as caught only by a failure the clean mock does not "
                "produce, and `--max-failures 1` stops at the first such failure.",
                f"- Our suites, per fault: `{b.commands.get('ours-fault', '')}`: one process, the suite meant to "
                f"catch the fault first (as in `harness.faultmatrix`), profile `{b.args.fault_profile}`; caught = a "
                "test failed before the budget was up.",
                f"- Faults: {', '.join(f'`{x}`' for x in faults)}."]
    out += ["- Checked requests: Schemathesis, the interactions in its NDJSON event stream whose test case ran at "
            "least one check; ours, every exchange the harness client recorded (coverage parts). Requests/s "
            "divides by each process's wall time, start-up included (for a run stopped at its budget: the budget). "
            "Operations: contract operations (of the 50) that received a request / answered 2xx.",
            f"- A run still going at its budget is interrupted (SIGINT, then SIGTERM/SIGKILL after {STOP_GRACE:g} "
            "s); Schemathesis's budget is its `--max-time`, on top of its schema loading (under a second)."]
    return out


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 140 else text[:137] + "…"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench headtohead", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, help="seconds per tool on the clean mock (default 60; 10 --quick)")
    parser.add_argument("--fault-budget", type=float, help="seconds per tool and fault (default 20; 10 --quick)")
    parser.add_argument("--faults", help="comma-separated fault names (default: the whole catalogue)")
    parser.add_argument("--sample", type=int, help="a deterministic sample of N faults, families in turn")
    parser.add_argument("--no-faults", action="store_true", help="only the clean runs")
    parser.add_argument("--no-control", action="store_true", help="skip the control run (per-fault mode, no fault)")
    parser.add_argument("--fault-profile", default="quick", choices=["quick", "ci", "deep"],
                        help="our suites' profile in the per-fault runs (default quick)")
    parser.add_argument("--fault-workers", type=int, default=0, choices=[0, 1, 2],
                        help="xdist workers of our per-fault runs (default 0: one process, as harness.faultmatrix "
                             "runs; -n 2 pays a second collection before the first test)")
    parser.add_argument("--quick", action="store_true", help="smoke run: budget 10 s, 6 faults, 10 s per fault")
    parser.add_argument("--workdir", type=Path, help="keep every run's output and reports here (default: a temporary "
                                                     "folder, removed at the end)")
    parser.add_argument("--report", type=Path, help="markdown report (default reports/head-to-head.md, "
                                                    "reports/head-to-head-quick.md with --quick)")
    args = parser.parse_args(argv)
    args.argv = list(argv)
    args.budget = args.budget or (10.0 if args.quick else 60.0)
    args.fault_budget = args.fault_budget or (10.0 if args.quick else 20.0)
    if args.quick and args.sample is None and not args.faults:
        args.sample = 6
    if args.budget <= 0 or args.fault_budget <= 0 or (args.sample is not None and args.sample < 0):
        parser.error("budgets must be positive and --sample non-negative")
    args.fault_names = [] if args.no_faults else pick_faults(args, parser)
    args.report = args.report or ROOT / "reports" / ("head-to-head-quick.md" if args.quick else "head-to-head.md")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    start = time.monotonic()
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} cores", flush=True)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        if any(args.workdir.iterdir()):
            print(f"error: --workdir {args.workdir} is not empty", file=sys.stderr)
            return 2
    keep = contextlib.nullcontext(str(args.workdir)) if args.workdir else tempfile.TemporaryDirectory(prefix="h2h-")
    with keep as tmp:
        bench = Bench(args, Path(tmp), seed_labels(), st_version(), code=code_state())
        note(f"Schemathesis {bench.version}; faults: {', '.join(args.fault_names) or 'none'}")
        bench.clean()
        if args.fault_names:
            bench.mark_load("before the fault runs")
            names = [*args.fault_names, *([] if args.no_control else [CONTROL])]
            for i, name in enumerate(names, 1):
                note(f"fault {i}/{len(names)}: {name}")
                bench.rows.append(bench.fault(name))
        bench.mark_load("at the end")
        if (now := code_state()) != bench.code:
            bench.code += f" at the start; {now} at the end (the code changed during the run)"
        text = render(bench, args.fault_names, time.monotonic() - start)
    publish(text, args.report, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
