"""The pytest side of findings: which test saw what, failing tests that recorded findings, the run's summary, the
reports and the exit code.

- Around each test the current test is set (`harness.findings.set_current_test`), so every finding knows the
  tests that saw it.
- A test that raised `CheckFailed` (or a Hypothesis group of them) has its findings recorded; one that ran to its
  end after recording findings fails then, with every finding in its message. Any other exception (a bug in a
  suite, a fixture crash) is a `Category.HARNESS` finding; no HTTP answer at all is a server error. The Allure
  page of a failing test lists its findings (a ``finding`` label each, and a *findings* attachment).
- Each xdist worker writes its findings to ``<reports>/findings-parts/<worker>.json``; the controller merges them
  (one defect seen by both workers is one finding), replays each once against the target (`harness.replay`:
  one that does not reproduce is flaky, not a defect), writes reports/findings.json, findings.md and
  findings/<id>.json, and prints "N distinct findings" grouped by category.
- Exit code: a run that ran its tests exits 1 iff there is at least one reproducible defect, a harness error, or
  a failed test no finding explains; otherwise 0 (failures that all turned out flaky do not fail the run).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import allure
import pytest

from harness import findings, steps
from harness.client import TransportError
from harness.findings import ANY_OPERATION, Category, CheckFailed, Finding, stable
from harness.findings_output import PARTS, load_parts, save_part, summary_lines, write_reports
from harness.parts import clear_json
from harness.redaction import scrub

ROOT = Path(__file__).resolve().parent.parent
_state: dict = {"failed": set(), "merged": None, "written": [], "replay_note": "", "active": False}


class FindingsRecorded(AssertionError):
    """Raised at the end of a test that recorded findings but did not fail by itself."""


def reports_dir() -> Path:
    """Where this run writes its outputs (HARNESS_REPORTS_DIR, else reports/)."""
    return Path(os.environ.get("HARNESS_REPORTS_DIR") or ROOT / "reports")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _worker(config: pytest.Config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "main")


def check_failures(exc: BaseException | None) -> list[CheckFailed]:
    """Every `CheckFailed` in an exception, looking inside (Hypothesis's) exception groups."""
    if exc is None:
        return []
    if isinstance(exc, CheckFailed):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        return [c for sub in exc.exceptions for c in check_failures(sub)]
    return []


def _other_failures(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, CheckFailed | FindingsRecorded):
        return []
    if isinstance(exc, BaseExceptionGroup):
        return [o for sub in exc.exceptions for o in _other_failures(sub)]
    return [exc]


def finding_for_exception(exc: BaseException, nodeid: str) -> Finding:
    """A raised exception that is not a check's: no HTTP answer (a server error), a consequence of a defect
    already found (a KeyError on a field the contract requires and the target left out), or a bug in the harness.
    """
    if isinstance(exc, KeyError) and exc.args:
        missing = f"required {exc.args[0]}"
        known = next((f for f in findings.collected() if f.signature.endswith(missing)), None)
        if known is not None:
            return Finding(known.category, known.check, known.operation, known.signature, known.detail,
                           operations=list(known.operations), predicate=known.predicate)
    if isinstance(exc, TransportError):
        return Finding(Category.SERVER_ERROR, "the target answers every request", stable(f"{exc.method} {exc.path}"),
                       "no HTTP answer", scrub(str(exc)), raw=list(exc.exchanges[-1:]))
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return Finding(Category.HARNESS, f"{type(exc).__name__} in the harness", ANY_OPERATION, first,
                   scrub(f"{nodeid}: {type(exc).__name__}: {exc}"))


def _describe(seen: list[Finding]) -> str:
    return "\n".join(f"- [{f.id}] {f.headline()}" for f in seen)


# -- per test -----------------------------------------------------------------------------------------------------


def judged(item: pytest.Item) -> bool:
    """Whether a test is judged by its findings: it talks to the target (uses the `target` fixture, as every
    suite does). The harness's own tests (tests/) record findings on purpose and are judged by their asserts."""
    return "target" in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    if judged(item):
        _state["active"] = True
        findings.set_current_test(item.nodeid)
    try:
        return (yield)
    finally:
        findings.set_current_test(None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A test that ran to its end after recording findings fails now, listing them all."""
    result = yield
    seen = findings.findings_of(item.nodeid) if judged(item) else []
    if seen:
        first = seen[0].category.heading
        raise FindingsRecorded(scrub(f"{first}: {len(seen)} finding{'s' if len(seen) != 1 else ''} recorded by "
                                     f"this test:\n{_describe(seen)}"))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if not judged(item):
        return report
    if call.when in ("setup", "call") and call.excinfo is not None and report.failed:
        exc = call.excinfo.value
        for failure in check_failures(exc):
            findings.record(failure.finding)
        if not findings.findings_of(item.nodeid):
            for other in _other_failures(exc)[:1]:
                findings.record(finding_for_exception(other, item.nodeid))
    if call.when == "call" or (call.when == "setup" and report.failed):
        seen = findings.findings_of(item.nodeid)
        if seen:
            raised = [f.finding.key for f in check_failures(call.excinfo.value if call.excinfo else None)]
            primary = next((f for f in seen if f.key in raised), seen[0])
            _annotate([*(f for f in seen if f is not primary), primary])
    return report


def _annotate(seen: list[Finding]) -> None:
    """The Allure page of the test: one `finding` label per finding, the main one (what the test raised, else the
    first it recorded) last, since the report's categories group by the last; and an attachment listing them."""
    try:
        for finding in seen:
            allure.dynamic.label("finding", scrub(finding.label()))
        allure.attach(scrub(_describe(seen)), name="findings", attachment_type=allure.attachment_type.TEXT)
    except Exception:  # no Allure listener (plain pytest): nothing to annotate
        pass


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _state["failed"].add(report.nodeid)


# -- session ------------------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("harness").addoption(
        "--no-replay", action="store_true", default=os.environ.get("HARNESS_NO_REPLAY") == "1",
        help="do not replay findings at the end of the run (they are reported as seen) [HARNESS_NO_REPLAY=1]")


def pytest_configure(config: pytest.Config) -> None:
    _state.update(failed=set(), merged=None, written=[], replay_note="", active=False)


def pytest_sessionstart(session: pytest.Session) -> None:
    findings.reset()
    steps.reset()
    if not _is_worker(session.config):
        clear_json(reports_dir() / PARTS)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    folder = reports_dir() / PARTS
    if _state["active"]:  # a session of the harness's own tests (tests/) leaves no part
        save_part(findings.collected(), folder / f"{_worker(config)}.json")
    if _is_worker(config) or not any(folder.glob("*.json")):
        return
    merged = load_parts(folder)
    _replay(config, merged)
    _state["merged"] = merged
    _state["written"] = write_reports(merged, reports_dir())
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = exit_status(merged, _state["failed"])


def _replay(config: pytest.Config, merged: list[Finding]) -> None:
    """Replay each defect once (harness.replay); the outcome goes into the findings."""
    from harness.replay import replay_run

    _state["replay_note"] = replay_run(config, merged)


def exit_status(merged: list[Finding], failed_tests: set[str]) -> int:
    """1 iff a reproducible defect, a harness error, or a failed test that no finding explains; else 0."""
    if any(f.counts_as_defect or f.category is Category.HARNESS for f in merged):
        return int(pytest.ExitCode.TESTS_FAILED)
    explained = {t for f in merged for t in f.tests}
    if failed_tests - explained:
        return int(pytest.ExitCode.TESTS_FAILED)
    return int(pytest.ExitCode.OK)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> Generator[None]:
    """The findings come last, after every other section and pytest's short test summary: the outermost
    wrapper's code after ``yield`` runs after all of them."""
    try:
        return (yield)
    finally:
        _write_findings_summary(terminalreporter, config)


def _write_findings_summary(terminalreporter, config: pytest.Config) -> None:
    merged = _state.get("merged")
    if _is_worker(config) or merged is None:
        return
    terminalreporter.section("findings")
    for line in summary_lines(merged):
        terminalreporter.write_line(line)
    if _state["replay_note"]:
        terminalreporter.write_line(_state["replay_note"])
    if _state["written"]:
        terminalreporter.write_line(f"(written to {', '.join(str(p) for p in _state['written'])})")
