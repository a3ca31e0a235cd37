"""State-machine runs side by side (`suites.machines.run_machine`) and the Allure steps of a test's other threads
(`harness.thread_steps`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis.internal.reflection import function_digest
from hypothesis.stateful import RuleBasedStateMachine, rule

from contracts.loader import load_contract
from harness import allure_http, thread_steps
from harness.checks import INVARIANT, fail
from harness.findings_plugin import check_failures
from harness.profiles import Profile
from suites.machines import ApiCalls, MachineFactory, run_machine, shares
from suites.test_lifecycle_identity import IdentityLifecycle
from suites.test_lifecycle_templates_accounts import TemplateLifecycle
from tests.test_read_ahead import RecordingApi

# --------------------------------------------------------------------------- the split


@pytest.mark.parametrize(("runs", "threads", "expected"), [
    (4, 2, [2, 2]), (5, 2, [3, 2]), (1, 2, [1]), (3, 8, [1, 1, 1]), (4, 1, [4]),
])
def test_runs_are_split_evenly_over_at_most_the_threads(runs: int, threads: int, expected: list[int]) -> None:
    assert shares(runs, threads) == expected
    assert sum(shares(runs, threads)) == runs


def test_each_machine_has_its_own_example_database_key() -> None:
    """Hypothesis keys saved failing examples on the factory: one machine must not replay another's."""
    digests = {name: function_digest(MachineFactory(cls, None, None, None))
               for name, cls in (("identity", IdentityLifecycle), ("templates", TemplateLifecycle))}
    assert digests["identity"] != digests["templates"]
    assert function_digest(MachineFactory(IdentityLifecycle, 1, 2, 3)) == digests["identity"], \
        "the key depends on the machine, not on the objects it is given"


# --------------------------------------------------------------------------- run_machine with fakes


class FakeApi:
    def __init__(self, name: str = "api") -> None:
        self.name = name
        self.siblings: list[FakeApi] = []

    def thread_sibling(self) -> FakeApi:
        sibling = FakeApi(f"{self.name}-sibling{len(self.siblings) + 1}")
        self.siblings.append(sibling)
        return sibling


class FakeWorld:
    def __init__(self, api: FakeApi) -> None:
        self.api = api

    def for_client(self, api: FakeApi) -> FakeWorld:
        return FakeWorld(api)


class Probe(RuleBasedStateMachine):
    """Calls `behaviour(self)` as its one rule, inside a thread step."""

    def __init__(self, api: FakeApi, contract: Any, world: FakeWorld, behaviour: Callable[[Probe], None]) -> None:
        super().__init__()
        self.api, self.world, self.behaviour = api, world, behaviour
        thread_steps.section("run")

    @rule()
    def act(self) -> None:
        with thread_steps.step(f"rule: act on {self.api.name}"):
            self.behaviour(self)


PROFILE = Profile("test", examples=1, steps=3, machines=4, page_objects=1, schemathesis_examples=1)


def _run(behaviour: Callable[[Probe], None], threads: int = 2, api: FakeApi | None = None) -> FakeApi:
    api = api or FakeApi()
    run_machine(Probe, api, None, FakeWorld(api), behaviour, profile=PROFILE, threads=threads)  # type: ignore[arg-type]
    return api


def test_the_runs_go_to_two_threads_each_with_its_own_client_and_world() -> None:
    seen: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def note(machine: Probe) -> None:
        with lock:
            seen.append((threading.get_ident(), machine.api.name, machine.world.api.name))

    api = _run(note)
    by_client = {name: {ident for ident, client, _ in seen if client == name} for _, name, _ in seen}
    assert set(by_client) == {"api", "api-sibling1"}
    assert by_client["api"] == {threading.get_ident()}, "the test's own thread runs its share with the test's client"
    assert by_client["api-sibling1"].isdisjoint({threading.get_ident()})
    assert all(client == world for _, client, world in seen), "each thread's world uses that thread's client"
    assert len(api.siblings) == 1


def test_one_thread_runs_everything_in_the_test_thread() -> None:
    idents: set[int] = set()
    api = _run(lambda machine: idents.add(threading.get_ident()), threads=1)
    assert idents == {threading.get_ident()} and api.siblings == []


class Found(Exception):
    pass


def test_a_failure_in_the_other_thread_is_raised_in_the_test_with_that_threads_exchanges(
        monkeypatch: pytest.MonkeyPatch) -> None:
    adopted: list[int] = []
    monkeypatch.setattr(allure_http, "adopt_kept", adopted.append)
    failing: list[int] = []

    def fail_in_sibling(machine: Probe) -> None:
        if machine.api.name != "api":
            failing.append(threading.get_ident())
            raise Found("the sibling's run failed")

    with pytest.raises(Found, match="sibling"):
        _run(fail_in_sibling)
    assert adopted and adopted[0] == failing[-1] != threading.get_ident()


def test_failures_in_both_threads_are_all_raised() -> None:
    def fail(machine: Probe) -> None:
        raise Found(machine.api.name)

    with pytest.raises(BaseExceptionGroup) as raised:
        _run(fail)
    assert sorted(str(exc) for exc in raised.value.exceptions) == ["api", "api-sibling1"]


def test_check_failures_inside_the_group_are_each_recorded() -> None:
    def broken(machine: Probe) -> None:
        fail(INVARIANT, "GET /v1/things", f"a property {machine.api.name} checks", "detail")

    with pytest.raises(BaseExceptionGroup) as raised:
        _run(broken)
    assert len(check_failures(raised.value)) == 2


def test_a_skip_is_raised_only_when_no_thread_failed() -> None:
    def skip_in_sibling(machine: Probe) -> None:
        if machine.api.name != "api":
            pytest.skip("request budget spent")

    with pytest.raises(pytest.skip.Exception, match="budget"):
        _run(skip_in_sibling)

    def skip_here_fail_there(machine: Probe) -> None:
        if machine.api.name == "api":
            pytest.skip("request budget spent")
        raise Found("a defect")

    with pytest.raises(Found):
        _run(skip_here_fail_there)


# --------------------------------------------------------------------------- steps of other threads


@pytest.fixture
def allure_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The titles of the Allure steps opened, indented by depth, in the order they were opened (and "failed: ..."
    where an error left one)."""
    opened: list[str] = []
    depth = [0]

    @contextlib.contextmanager
    def step(title: str) -> Iterator[None]:
        opened.append("  " * depth[0] + title)
        depth[0] += 1
        try:
            yield
        except Exception as exc:
            opened.append("  " * depth[0] + f"failed: {exc}")
            raise
        finally:
            depth[0] -= 1

    monkeypatch.setattr(thread_steps.allure, "step", step)
    return opened


def test_the_other_threads_steps_are_written_by_the_test_thread_after_its_own(allure_steps: list[str]) -> None:
    _run(lambda machine: None)
    ours = [line for line in allure_steps if "act on api-sibling" not in line and "thread" not in line
            and not line.strip().startswith("run")]
    assert ours and all(line == "rule: act on api" for line in ours), "the test's thread writes its steps directly"
    tail = allure_steps[len(ours):]
    assert tail[0] == "runs in thread 2"
    assert [line for line in tail if line.startswith("  run")] == ["  run 1", "  run 2"]
    assert all(line == "    rule: act on api-sibling1" for line in tail if "rule" in line)


def test_the_step_of_a_thread_that_failed_says_so(allure_steps: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allure_http, "adopt_kept", lambda ident: None)

    def fail_in_sibling(machine: Probe) -> None:
        if machine.api.name != "api":
            raise Found("the sibling's run failed\nmore detail")

    with pytest.raises(Found):
        _run(fail_in_sibling)
    assert allure_steps[-1] == "  failed: Found: the sibling's run failed"
    assert "runs in thread 2" in allure_steps


def test_a_captured_thread_records_steps_and_deferred_reports_in_order(allure_steps: list[str]) -> None:
    written: list[str] = []

    def work() -> None:
        with thread_steps.capture("thread 2") as recorded:
            assert thread_steps.captured()
            thread_steps.section("run")  # one that records nothing is replaced by the next
            thread_steps.section("run")
            with thread_steps.step("rule: a"):
                thread_steps.later(lambda: written.append("exchange of a"))
                with thread_steps.step("inner"):
                    pass
            thread_steps.section("run")
            thread_steps.later(lambda: written.append("exchange of run 2"))
        assert not thread_steps.captured() and not allure_steps and not written, "nothing reaches Allure yet"
        results.append(recorded)

    results: list[thread_steps.Recorded] = []
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    thread_steps.write(results[0])
    assert allure_steps == ["thread 2", "  run 1", "    rule: a", "      inner", "  run 2"]
    assert written == ["exchange of a", "exchange of run 2"]


def test_outside_capture_a_deferred_report_runs_at_once(allure_steps: list[str]) -> None:
    done: list[int] = []
    thread_steps.later(lambda: done.append(1))
    thread_steps.section("run")  # nothing outside capture
    with thread_steps.step("rule: b"):
        pass
    assert done == [1] and allure_steps == ["rule: b"]


def test_a_failing_threads_kept_exchanges_are_attached_by_the_test_thread() -> None:
    allure_http.forget_kept()
    marker = object()

    def keep() -> None:
        allure_http._kept_here().append(marker)  # type: ignore[arg-type]
        idents.append(threading.get_ident())

    idents: list[int] = []
    thread = threading.Thread(target=keep)
    thread.start()
    thread.join()
    assert not allure_http._kept_here()
    allure_http.adopt_kept(idents[0])
    assert list(allure_http._kept_here()) == [marker]
    allure_http.forget_kept()


def test_a_rules_calls_in_another_thread_are_recorded_steps(allure_steps: list[str]) -> None:
    """A rule's call is a step; from another thread of the test it must wait for the test's thread (an
    ``allure.step`` there would corrupt the report)."""

    calls = ApiCalls(RecordingApi(), load_contract())  # type: ignore[arg-type]
    results: list[thread_steps.Recorded] = []

    def work() -> None:
        with thread_steps.capture("thread 2") as recorded:
            calls.send("RetrieveInvoice", {"invoice": "in_1"})
        results.append(recorded)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert allure_steps == []
    thread_steps.write(results[0])
    assert allure_steps == ["thread 2", "  rule: RetrieveInvoice {'invoice': 'in_1'}"]
