"""The pytest side of running politely on a shared target: pace, budget, run tagging, clean-up, connected account.

    --max-rps N          [HARNESS_MAX_RPS]         requests per second for the whole run (all workers together);
                                                   default: unlimited on the embedded mock, 20 on --base-url
    --max-requests N     [HARNESS_MAX_REQUESTS]    stop starting tests/examples once N requests were sent
    --run-id ID          [HARNESS_RUN_ID]          tag objects with this id instead of a new one
    --keep-objects       [HARNESS_KEEP_OBJECTS=1]  leave what the run created (no clean-up at the end)
    --stripe-account ID  [HARNESS_STRIPE_ACCOUNT]  act for a connected account (Stripe-Account header)

The controlling process settles these once (`configure`) and hands them to the xdist workers. Every request
attempt of every client passes through `gate()`, which paces it and charges the budget; every exchange feeds the
process's `RunLedger`; at the end each worker cleans up what it created and saves its ledger, and the controller
prints the "Run on target" summary.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.cleanup import clean_up
from harness.pacing import (
    DEFAULT_EXTERNAL_RPS,
    BudgetSpent,
    LimitError,
    Limits,
    SharedLimiter,
    parse_budget,
    parse_rate,
    read_reserved,
)
from harness.parts import clear_json
from harness.preflight import PreflightError, check_account, check_base_url, probe
from harness.runinfo import TAG_KEY, RunLedger, check_run_id, load_parts, new_run_id

BUDGET_SKIP = "request budget spent"
STRIPE_ACCOUNT_HEADER = "Stripe-Account"

OPTIONS = [
    ("--max-rps", "HARNESS_MAX_RPS", "requests per second for the whole run (all workers), or 'unlimited'; "
                                     f"default: unlimited on the mock, {DEFAULT_EXTERNAL_RPS:g} on --base-url"),
    ("--max-requests", "HARNESS_MAX_REQUESTS", "request budget: once spent, the remaining tests skip"),
    ("--run-id", "HARNESS_RUN_ID", "tag created objects with metadata[harness_run]=ID (default: a new id)"),
    ("--stripe-account", "HARNESS_STRIPE_ACCOUNT", "act for this connected account (Stripe-Account header)"),
]


@dataclass
class RunSettings:
    """What the controlling process decided for the run, as handed to every worker."""

    run_id: str
    limits: Limits
    state_file: str
    pace_note: str = ""  # why this pace (shown in the summary)
    stripe_account: str | None = None
    keep_objects: bool = False
    external: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "max_rps": self.limits.max_rps, "max_requests": self.limits.max_requests,
                "state_file": self.state_file, "pace_note": self.pace_note, "stripe_account": self.stripe_account,
                "keep_objects": self.keep_objects, "external": self.external}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        return cls(data["run_id"], Limits(data["max_rps"], data["max_requests"]), data["state_file"],
                   data["pace_note"], data["stripe_account"], data["keep_objects"], data["external"])


@dataclass
class RunState:
    """One process's view of the run: settings, the shared limiter, its ledger and the clean-up outcome."""

    settings: RunSettings
    limiter: SharedLimiter
    ledger: RunLedger
    cleanup: dict[str, Any] = field(default_factory=dict)
    bypass_budget: bool = False  # set while cleaning up: the budget is for tests, the clean-up must still run
    is_worker: bool = False
    spent_in_test: bool = False  # the running test hit the budget (pytest_runtest_call turns its end into a skip)


_state: RunState | None = None
_tests = {"passed": 0, "failed": 0, "skipped": 0, "budget": 0}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness")
    for flag, env, help_text in OPTIONS:
        group.addoption(flag, default=os.environ.get(env), help=f"{help_text} [{env}]")
    group.addoption("--keep-objects", action="store_true", default=os.environ.get("HARNESS_KEEP_OBJECTS") == "1",
                    help="leave the objects the run created on the target (no clean-up) [HARNESS_KEEP_OBJECTS=1]")


def configure(config: pytest.Config) -> RunState:
    """Settle the run's settings (controller) or take them from the controller (worker); UsageError on bad input."""
    global _state
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "harness_run" in workerinput:
        settings = RunSettings.from_dict(workerinput["harness_run"])
    else:
        settings = _settle(config)
    _state = RunState(settings, SharedLimiter(Path(settings.state_file), settings.limits), RunLedger(settings.run_id),
                      is_worker=workerinput is not None)
    return _state


def _settle(config: pytest.Config) -> RunSettings:
    base_url = config.getoption("--base-url")
    try:
        given_rate = config.getoption("--max-rps", default=None)
        rate = parse_rate(given_rate)
        budget = parse_budget(config.getoption("--max-requests", default=None))
        account = check_account(config.getoption("--stripe-account", default=None))
        run_id = check_run_id(config.getoption("--run-id", default=None) or new_run_id())
        if base_url:
            check_base_url(base_url)
    except (LimitError, PreflightError) as exc:
        raise pytest.UsageError(str(exc)) from None
    except ValueError as exc:
        raise pytest.UsageError(f"--run-id: {exc}") from None
    note = "set by --max-rps" if rate is not None else "unlimited (--max-rps unlimited)"
    if given_rate is None:
        if base_url:
            rate = DEFAULT_EXTERNAL_RPS
            note = (f"default on an external target ({DEFAULT_EXTERNAL_RPS:g}/s; Stripe allows 25/s in test mode); "
                    "change it with --max-rps")
        else:
            note = "unlimited on the embedded mock (default)"
    folder = Path(tempfile.mkdtemp(prefix="harness-run-"))
    state_file = SharedLimiter.create(folder / "limits")
    return RunSettings(run_id, Limits(rate, budget), str(state_file), note, account,
                       bool(config.getoption("--keep-objects", default=None)), bool(base_url))


def check_external_target(config: pytest.Config, key: str) -> None:
    """One probe of an external target before any test: reachable, key accepted (UsageError otherwise)."""
    base_url = config.getoption("--base-url")
    if not base_url or hasattr(config, "workerinput"):
        return
    headers = request_headers()
    try:
        probe(check_base_url(base_url), key, headers)
    except PreflightError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controlling process removes the run's shared state file (workers only use it)."""
    if _state is not None and not _state.is_worker:
        _state.limiter.close()
        shutil.rmtree(Path(_state.settings.state_file).parent, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker gets the controller's settings (same run id, same shared limiter)."""
    if _state is not None:
        node.workerinput["harness_run"] = _state.settings.to_dict()


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _state is None:
        return []
    return [f"harness run id: {_state.settings.run_id} (objects tagged metadata[{TAG_KEY}]={_state.settings.run_id})",
            f"harness pace: {describe_pace(_state.settings)}; budget: {describe_budget(_state.settings)}"]


def describe_pace(settings: RunSettings) -> str:
    """The run's pace for people: ``"20 requests/s (set by --max-rps)"``, or why there is none."""
    rate = settings.limits.max_rps
    return f"{rate:g} requests/s ({settings.pace_note})" if rate is not None else settings.pace_note


def describe_budget(settings: RunSettings) -> str:
    """The run's request budget for people: ``"500 requests"`` or ``"none"``."""
    budget = settings.limits.max_requests
    return f"{budget} requests" if budget is not None else "none"


def environment() -> dict[str, str]:
    """Run facts for the Allure environment panel."""
    if _state is None:
        return {}
    settings = _state.settings
    return {"run_id": settings.run_id, "stripe_account": settings.stripe_account or "none (the key's own account)",
            "pace": describe_pace(settings), "budget": describe_budget(settings),
            "clean_up": "off (--keep-objects)" if settings.keep_objects else "at the end of the run"}


# -- clients -------------------------------------------------------------------------------------------------


def run_id() -> str | None:
    """The run id that tags what this run creates (None outside a pytest run)."""
    return _state.settings.run_id if _state is not None else None


def request_headers() -> dict[str, str]:
    """Headers every request of the run carries (Stripe-Account when acting for a connected account)."""
    if _state is not None and _state.settings.stripe_account:
        return {STRIPE_ACCOUNT_HEADER: _state.settings.stripe_account}
    return {}


def gate() -> None:
    """Called before every request attempt: wait for the pace; skip the test when the budget is spent."""
    if _state is None or not _state.settings.limits.active:
        return
    try:
        _state.limiter.acquire(charge=not _state.bypass_budget)
    except BudgetSpent:
        _state.spent_in_test = True
        pytest.skip(BUDGET_SKIP)


def paced() -> bool:
    """True when this run keeps a pace (--max-rps): requests outside the gated clients go one at a time."""
    return _state is not None and _state.settings.limits.max_rps is not None


def attach(client: Any) -> None:
    """Route a client's requests through `gate()`."""
    client.gate(gate)


def finish(client: Any) -> None:
    """End of a worker's session: clean up what it created (unless --keep-objects, or the target dies with the run)."""
    if _state is None:
        return
    settings = _state.settings
    if settings.keep_objects:
        _state.cleanup = {"skipped": "--keep-objects"}
        return
    if not settings.external:
        _state.cleanup = {"skipped": "the embedded mock ends with the run"}
        return
    _state.bypass_budget = True
    try:
        pairs = [(kind, object_id) for object_id, kind in list(_state.ledger.created.items())]
        _state.cleanup = clean_up(client, pairs, settings.run_id).to_dict()
    finally:
        _state.bypass_budget = False


def record(method: str, path: str, status: int | None, body: Any) -> None:
    """Feed one exchange to this process's ledger."""
    if _state is not None:
        _state.ledger.record(method, path, status, body)


# -- tests and the summary -----------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """No new test once the budget is spent."""
    if _state is not None and _state.limiter.spent():
        pytest.skip(BUDGET_SKIP)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """A test that ran out of budget mid-way ends as a skip, whatever that did to it (e.g. Hypothesis reports a
    draw that stopped early as FlakyStrategyDefinition); a genuine failure in the same test is kept."""
    if _state is None:
        return (yield)
    _state.spent_in_test = False
    try:
        return (yield)
    except Exception as exc:
        if _state.spent_in_test and _only_budget(exc):
            pytest.skip(BUDGET_SKIP)
        raise


def _only_budget(exc: BaseException) -> bool:
    """True when the error comes from the budget skip (directly, as its context, or a Hypothesis Flaky* report)."""
    from hypothesis.errors import Flaky

    if isinstance(exc, BaseExceptionGroup):
        return all(_only_budget(inner) for inner in exc.exceptions)
    if isinstance(exc, AssertionError) and not isinstance(exc, Flaky):
        return False
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, pytest.skip.Exception) and BUDGET_SKIP in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return isinstance(exc, Flaky)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count outcomes (in the controlling process, which sees every worker's reports) for the summary."""
    if _state is None or _state.is_worker:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if report.skipped:
            _tests["skipped"] += 1
            if BUDGET_SKIP in str(report.longrepr):
                _tests["budget"] += 1
        elif report.failed:
            _tests["failed"] += 1
        else:
            _tests["passed"] += 1


def _parts_dir(reports: Path) -> Path:
    return reports / "run-parts"


def clear_parts(reports: Path) -> None:
    """Empty ``<reports>/run-parts/`` (made if missing) before a run, so the summary merges only this run's parts."""
    clear_json(_parts_dir(reports))


def save_part(config: pytest.Config, reports: Path) -> None:
    """Write this process's ledger and clean-up notes to ``<reports>/run-parts/<worker>.json`` (nothing when
    the staging plugin is not active)."""
    if _state is None:
        return
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    data = _state.ledger.to_dict()
    data["cleanup"] = _state.cleanup
    path = _parts_dir(reports) / f"{worker}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def summary_lines(reports: Path) -> list[str]:
    """The "Run on target" section: run id, pace, budget and how far the run got, 429s, clean-up."""
    if _state is None:
        return []
    settings = _state.settings
    totals = load_parts(_parts_dir(reports))
    if not totals.requests:
        return []
    sent = max(read_reserved(Path(settings.state_file)), totals.requests) if settings.limits.active \
        else totals.requests
    lines = [f"run id: {settings.run_id} (find its objects by metadata[{TAG_KEY}]={settings.run_id})",
             f"pace: {describe_pace(settings)}",
             f"requests: {sent} sent; 429 Too Many Requests: {totals.throttled}"]
    if settings.stripe_account:
        lines.append(f"connected account: {settings.stripe_account} (Stripe-Account on every request)")
    budget = settings.limits.max_requests
    ran = _tests["passed"] + _tests["failed"] + _tests["skipped"] - _tests["budget"]
    if budget is not None:
        if _tests["budget"]:
            lines.append(f"budget: {budget} requests, spent: {ran} tests ran, {_tests['budget']} skipped "
                         f"({BUDGET_SKIP}); raise --max-requests to go further")
        else:
            lines.append(f"budget: {budget} requests, {sent} used; every test ran")
    lines += _cleanup_lines(settings, totals)
    return lines


def _cleanup_lines(settings: RunSettings, totals: Any) -> list[str]:
    created = len(totals.created)
    outcomes = [part for part in totals.cleanups if part]
    skipped = next((part["skipped"] for part in outcomes if "skipped" in part), None)
    if skipped:
        return [f"clean-up: skipped ({skipped}); {created} objects created, the tagged ones findable by the run id"]
    cleaned = sum(part.get("cleaned", 0) for part in outcomes)
    errors = [e for part in outcomes for e in part.get("errors", [])]
    lines = [f"clean-up: {cleaned} objects cleaned up of {created} created (the others were final or gone)"
             + (f"; {len(errors)} errors (not fatal):" if errors else "")]
    lines += [f"  {e}" for e in errors[:10]]
    if errors:
        lines.append(f"  retry later: python -m harness.cleanup --base-url URL --run-id {settings.run_id} "
                     "--ledger reports/run-parts")
    return lines
