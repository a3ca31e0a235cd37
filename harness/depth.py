"""State-machine depth: how many runs and steps the lifecycle state machines executed, printed in the run summary.

The lifecycle machines (suites/machines.py) report each run's start and each completed step here. Hypothesis checks
a machine's invariants once after its set-up and once after every step, so the machines count those checks;
steps = checks - runs. With pytest-xdist each worker hands its totals to the controlling process
(`workeroutput`), which adds them up and prints `state-machine steps: N in M runs`.
"""

from __future__ import annotations

import threading

import pytest

WORKER_KEY = "harness_state_machine_steps"

_lock = threading.Lock()  # machines of one test may run in several threads (suites.machines.run_machine)
_runs = 0
_checks = 0
_from_workers = [0, 0]


def run_started() -> None:
    """A machine was set up (one Hypothesis example of a state machine test)."""
    global _runs
    with _lock:
        _runs += 1


def invariants_checked() -> None:
    """Hypothesis checked a machine's invariants: after its set-up, and after each step."""
    global _checks
    with _lock:
        _checks += 1


def totals() -> tuple[int, int]:
    """(runs, steps) this process executed."""
    return _runs, max(0, _checks - _runs)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_KEY] = list(totals())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    runs, steps = (getattr(node, "workeroutput", None) or {}).get(WORKER_KEY, (0, 0))
    _from_workers[0] += runs
    _from_workers[1] += steps


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    runs, steps = totals()
    runs, steps = runs + _from_workers[0], steps + _from_workers[1]
    if runs:
        terminalreporter.write_line(f"state-machine steps: {steps:,} in {runs:,} runs")
