"""The pytest side of the harness: options (the README's table), profiles, the target and client fixtures, coverage.

Loaded from the top-level conftest.py. Every option also reads an environment variable, so CI can configure a run
without editing commands.
"""

from __future__ import annotations

import functools
import gc
import os
import platform
import subprocess
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from contracts.loader import load_contract
from harness import allure_http, staging
from harness import harness_config as harness_config_file
from harness.client import ApiClient, Exchange
from harness.coverage import CoverageRecorder, load_parts, matrix
from harness.operations_plugin import observe_exchange
from harness.parts import clear_json
from harness.preflight import round_trip
from harness.profiles import PROFILES, Profile, activate, register_hypothesis_profiles
from harness.redaction import register_secret
from harness.steps import observe
from harness.target import Target, TargetError, looks_live, start_embedded_mock

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"

OPTIONS = [
    # (flag, env var, help, default)
    ("--base-url", "HARNESS_BASE_URL", "target base URL; absent: start the embedded mock", None),
    ("--api-key", "HARNESS_API_KEY", "API key sent as Authorization: Bearer KEY", None),
    ("--second-api-key", "HARNESS_SECOND_API_KEY", "a key of another account, for isolation checks", None),
    ("--profile", "HARNESS_PROFILE", "quick | ci | deep: example counts and state machine lengths", "ci"),
    ("--harness-config", "HARNESS_CONFIG", "JSON file naming pre-existing object IDs on the target", None),
    ("--fault", "HARNESS_FAULT", "embedded mock only: enable planted bug(s), comma-separated", None),
    ("--chaos", "HARNESS_CHAOS", "embedded mock only: chaos settings, e.g. rate_limit=0.1,extra_fields", None),
    ("--stripe-version", "HARNESS_STRIPE_VERSION",
     "Stripe-Version sent on every request; default: the API version the contract was generated from", None),
]


DEFAULT_CONCURRENCY = 16
"""Requests in flight per worker for a batch of read-backs: against a target tens of milliseconds away, a state
machine that reads back twenty objects after every step waits for two round trips instead of twenty. (Half the
batches of a ci run's state machines hold more than 8 reads; 16 takes 30 % fewer round trips than 8, 32 only 17 %
fewer than 16.)"""


DEFAULT_MACHINE_THREADS = 2
"""Threads one worker runs a state machine's deep runs in: a run sends its requests one after another, so against
a target tens of milliseconds away it mostly waits; two runs side by side wait together."""

MAX_MACHINE_THREADS = 8

MAX_CONCURRENCY = 64
"""The most `--concurrency` allows: each request in flight is a thread and a connection of every worker."""


def _whole_number(text: str, most: int, what: str, example: str) -> int:
    """`text` as a whole number from 1 to `most`; `pytest.UsageError` saying what to pass otherwise. ASCII digits
    only (``"²".isdigit()`` is true), and never `int()` of a long string."""
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(most)) and 1 <= int(text) <= most):
        raise pytest.UsageError(f"{what} from 1 to {most}, e.g. {example} (got {text!r})")
    return int(text)


def concurrency(config: pytest.Config) -> int:
    """``--concurrency`` as a number; `pytest.UsageError` (saying what to pass) unless it is a whole number from 1
    to `MAX_CONCURRENCY`."""
    return _whole_number(str(config.getoption("--concurrency")), MAX_CONCURRENCY,
                         "--concurrency (HARNESS_CONCURRENCY) takes a whole number of requests", "--concurrency 8")


def machine_threads(config: pytest.Config) -> int:
    """``--machine-threads`` as a number; `pytest.UsageError` (saying what to pass) unless it is a whole number from
    1 to `MAX_MACHINE_THREADS`."""
    return _whole_number(str(config.getoption("--machine-threads")), MAX_MACHINE_THREADS,
                         "--machine-threads (HARNESS_MACHINE_THREADS) takes a whole number of threads",
                         "--machine-threads 1")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "contract-testing harness")
    for flag, env, help_text, default in OPTIONS:
        group.addoption(flag, default=os.environ.get(env, default), help=f"{help_text} [{env}]")
    group.addoption("--allow-live", action="store_true", default=os.environ.get("HARNESS_ALLOW_LIVE") == "1",
                    help="allow keys that look live (sk_live_/rk_live_) [HARNESS_ALLOW_LIVE=1]")
    group.addoption("--concurrency", default=os.environ.get("HARNESS_CONCURRENCY", str(DEFAULT_CONCURRENCY)),
                    help="requests one worker keeps in flight where their order does not matter (a state "
                         "machine's read-backs of its objects); 1 sends everything one after another "
                         f"[HARNESS_CONCURRENCY, default {DEFAULT_CONCURRENCY}]")
    group.addoption("--machine-threads",
                    default=os.environ.get("HARNESS_MACHINE_THREADS", str(DEFAULT_MACHINE_THREADS)),
                    help="threads a worker runs one test's state-machine runs in, each with its own objects; 1 "
                         "runs them one after another [HARNESS_MACHINE_THREADS, default "
                         f"{DEFAULT_MACHINE_THREADS}]")
    group.addoption("--unsourced-rules", action="store_true",
                    default=os.environ.get("HARNESS_UNSOURCED_RULES") == "1",
                    help="with --base-url, also assert the business rules that have no Stripe source "
                         "(contracts/rules.yaml) [HARNESS_UNSOURCED_RULES=1]")


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLD)
    register_hypothesis_profiles()
    name = config.getoption("--profile")
    if name not in PROFILES:
        raise pytest.UsageError(f"--profile must be one of {', '.join(PROFILES)} (got {name!r})")
    activate(name)
    concurrency(config)
    machine_threads(config)
    for opt in ("--api-key", "--second-api-key"):
        key = config.getoption(opt)
        register_secret(key)
        if looks_live(key) and not config.getoption("--allow-live"):
            raise pytest.UsageError(f"{opt} looks like a live-mode key; the harness creates, pays and voids "
                                    "objects. Use a test-mode key, or pass --allow-live if you really mean it.")
    if config.getoption("--base-url") and (config.getoption("--fault") or config.getoption("--chaos")):
        raise pytest.UsageError("--fault and --chaos configure the embedded mock; they can't be used with "
                                "--base-url")
    staging.configure(config)
    if not hasattr(config, "workerinput"):
        if config.getoption("--base-url"):
            if not config.getoption("--api-key"):
                raise pytest.UsageError("--base-url needs --api-key (or HARNESS_API_KEY)")
            staging.check_external_target(config, config.getoption("--api-key"))
        _write_allure_environment(config)


# -- garbage collection ----------------------------------------------------------------------------------------

GC_THRESHOLD = (10_000, 20, 20)
"""`gc.set_threshold` for a harness process. A run allocates millions of short-lived containers (decoded JSON,
Hypothesis draws), and CPython's default (700, 10, 10) collects the youngest generation every 700: on the ci
profile that was ~5,200 collections and ~5 CPU s per worker (of ~60). With this and `gc.freeze` after collection,
~1.8 s (`./run suites`, 2 workers: 125 -> 118 CPU s)."""


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built (the contract, strategies, test items) lives for the whole run: move it out of the
    collector's way (`gc.freeze`), so each full collection scans only what tests allocate. (No `gc.collect` first:
    it cost each worker ~0.15 CPU s at start-up, to free the little that collection leaves behind.)"""
    gc.freeze()


# -- workers ------------------------------------------------------------------------------------------------------

WORKERS_PER_CORE_REMOTE = 7
"""`-n auto` against a target tens of ms away: a worker mostly waits for answers, so several share a core (each is
a process of ~200 MB that collects the suites once). On 2 cores against a mock 30 ms away (ci profile, 5038e58,
alternating runs): 14 workers 109 s and 113 s, 12 workers 117 s and 128 s; 16 took 113 s with more CPU, 10 took
128 s."""

LOCAL_ROUND_TRIP = 0.005
"""Seconds: a --base-url target that answers faster than this shares the machine (or sits beside it), so the run is
CPU bound as with the embedded mock, and `-n auto` gives it one worker per core (12 workers took 155 s on 2 cores
where 2 take ~90 s)."""

_AUTO_WORKERS = pytest.StashKey[str]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker per core when the run is CPU bound (the embedded mock, or a --base-url target that
    answers within `LOCAL_ROUND_TRIP`), `WORKERS_PER_CORE_REMOTE` per core when it mostly waits for answers
    (measured: `harness.preflight.round_trip`). HARNESS_WORKERS_PER_CORE sets the figure for any --base-url."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    base_url = config.getoption("--base-url")
    if not base_url:
        return cores
    given = os.environ.get("HARNESS_WORKERS_PER_CORE", "").strip()
    if given:
        per_core = _whole_number(given, 64, "HARNESS_WORKERS_PER_CORE takes a whole number of workers per core", "7")
        why = "HARNESS_WORKERS_PER_CORE"
    else:
        seconds = round_trip(base_url, config.getoption("--api-key"))
        local = seconds is not None and seconds < LOCAL_ROUND_TRIP
        per_core = 1 if local else WORKERS_PER_CORE_REMOTE
        why = (f"the target answers in {seconds * 1000:.1f} ms" if seconds is not None else "no answer to time") + (
            "" if local else "; HARNESS_WORKERS_PER_CORE changes it")
    workers = max(1, cores * per_core)
    config.stash[_AUTO_WORKERS] = f"-n auto: {workers} workers, {per_core} per core ({why})"
    return workers


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [config.stash[_AUTO_WORKERS]] if _AUTO_WORKERS in config.stash else []


# -- target and clients ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> Profile:
    return PROFILES[request.config.getoption("--profile")]


@pytest.fixture(scope="session", name="machine_threads")
def machine_threads_fixture(request: pytest.FixtureRequest) -> int:
    """``--machine-threads``: how many threads a state-machine test runs its runs in (`suites.machines.run_machine`)."""
    return machine_threads(request.config)


@pytest.fixture(scope="session")
def contract():
    return load_contract()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    config = request.config
    base_url = config.getoption("--base-url")
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    if base_url:
        key = config.getoption("--api-key")
        if not key:
            raise pytest.UsageError("--base-url needs --api-key (or HARNESS_API_KEY)")
        yield Target(base_url.rstrip("/"), key, config.getoption("--second-api-key") or "", embedded=False)
        return
    faults = tuple(f for f in (config.getoption("--fault") or "").split(",") if f)
    chaos = tuple(c for c in (config.getoption("--chaos") or "").split(",") if c)
    try:
        tgt = start_embedded_mock(faults, chaos, label=worker)
    except TargetError as exc:
        raise pytest.UsageError(f"could not start the embedded mock: {exc}") from exc
    if config.getoption("--api-key"):
        tgt.api_key = config.getoption("--api-key")
    register_secret(tgt.api_key)
    register_secret(tgt.second_api_key)
    with tgt:
        yield tgt


_recorder: CoverageRecorder | None = None


_hook_lock = threading.Lock()
"""The hook runs in every thread of a test (a state machine's runs side by side): one exchange at a time, so the
counts and ledgers it feeds need no locks of their own."""


def _on_exchange(ex: Exchange, account: str = "primary") -> None:
    with _hook_lock:
        observe(ex, account)
        allure_http.log_exchange(ex)
        staging.record(ex.method, ex.path, ex.status, ex.body)
        if _recorder is not None:
            _recorder.record(ex.method, ex.path, ex.params, ex.status, ex.operation_id)
        observe_exchange(ex)  # skips the test if it used an operation the target does not implement


def stripe_version(config: pytest.Config) -> str:
    """The API version every request pins: --stripe-version, else the contract's (`info.x-stripe-api-version`)."""
    return config.getoption("--stripe-version") or load_contract().stripe_version


@pytest.fixture(scope="session")
def api(target: Target, contract, request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    """The client every suite uses: retries, redaction, Allure steps, coverage recording, Stripe-Version pinned."""
    global _recorder
    _recorder = _recorder or CoverageRecorder(contract)
    client = ApiClient(target.base_url, target.api_key, on_exchange=_on_exchange, backoff=0.05, max_backoff=2.0,
                       max_retries=6, concurrency=concurrency(request.config),
                       default_headers={"Stripe-Version": stripe_version(request.config), **staging.request_headers()})
    staging.attach(client)  # pace and budget
    yield client
    with allure_http.outside_tests():  # the clean-up belongs to no test: no steps in the teardown every test shows
        staging.finish(client)  # clean-up of what this process created
    client.close()


@pytest.fixture(scope="session")
def other_api(target: Target, api: ApiClient) -> ApiClient:
    """Another account on the same target (isolation checks): the second key's own account; when the run acts for
    a connected account (--stripe-account) and there is no second key, the platform account itself."""
    if target.second_api_key:
        other = api.with_key(target.second_api_key)
    elif api.default_headers.get(staging.STRIPE_ACCOUNT_HEADER):
        other = api.with_key(api.api_key)
    else:
        pytest.skip("isolation needs --second-api-key (HARNESS_SECOND_API_KEY): a key of another account")
    # Marked as the second account's, so a replay of a finding sends them with the second key again.
    other.on_exchange = functools.partial(_on_exchange, account="second")
    other.default_headers = {k: v for k, v in api.default_headers.items() if k != staging.STRIPE_ACCOUNT_HEADER}
    return other


@pytest.fixture(scope="session")
def harness_config(request: pytest.FixtureRequest) -> dict:
    """The ``--harness-config`` file (`harness.harness_config.read`): kind -> ID of an existing object."""
    try:
        return harness_config_file.read(request.config.getoption("--harness-config"))
    except harness_config_file.HarnessConfigError as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    allure_http.forget_kept()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Every test gets its exchanges as one compact attachment; a failing one its last exchanges in full too."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        allure_http.attach_kept()
    if report.when == "call" or report.failed:
        allure_http.attach_compact()


# -- coverage and environment ---------------------------------------------------------------------------------


def _reports_dir() -> Path:
    """Where this run writes its outputs (`python -m harness.report --reports-dir` sets HARNESS_REPORTS_DIR)."""
    return Path(os.environ.get("HARNESS_REPORTS_DIR") or REPORTS)


def _coverage_dir(config: pytest.Config) -> Path:
    return _reports_dir() / "coverage-parts"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        clear_json(_coverage_dir(session.config))
        staging.clear_parts(_reports_dir())


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _recorder is not None:
        worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
        _recorder.save(_coverage_dir(session.config) / f"{worker}.json")
    staging.save_part(session.config, _reports_dir())


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    run_lines = staging.summary_lines(_reports_dir())
    if run_lines:
        terminalreporter.section("Run on target")
        for line in run_lines:
            terminalreporter.write_line(line)
    parts = load_parts(_coverage_dir(config))
    if not parts:
        return
    table = matrix(load_contract(), parts)
    terminalreporter.section("API coverage")
    terminalreporter.write_line(table.text())
    target = _reports_dir() / "coverage.md"
    target.write_text(table.markdown())
    terminalreporter.write_line(f"(also written to {target})")


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _write_allure_environment(config: pytest.Config) -> None:
    """environment.properties, written once by the controlling process (Allure reads it from the results)."""
    alluredir = config.getoption("--alluredir", default=None)
    if not alluredir:
        return
    folder = Path(alluredir)
    folder.mkdir(parents=True, exist_ok=True)
    versions = {}
    for pkg in ("hypothesis", "schemathesis", "pytest", "pytest-xdist", "requests", "allure-pytest"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    workers = getattr(config.option, "numprocesses", None) or 1
    seed = config.getoption("--hypothesis-seed", default=None)
    props = {
        "target": config.getoption("--base-url") or "embedded mock (python -m mockserver, one per worker)",
        **staging.environment(),
        "embedded_mock": str(not config.getoption("--base-url")).lower(),
        "faults": config.getoption("--fault") or "none",
        "chaos": config.getoption("--chaos") or "none",
        "contract_version": load_contract().version,
        "stripe_version": stripe_version(config),
        "profile": config.getoption("--profile"),
        "hypothesis_seed": str(seed) if seed is not None else "random",
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "xdist_workers": str(workers),
        **{f"package.{k}": v for k, v in versions.items()},
    }
    text = "".join(f"{k}={str(v).replace(chr(10), ' ')}\n" for k, v in props.items())
    (folder / "environment.properties").write_text(text)
