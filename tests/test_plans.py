"""`harness.plans`: one chain of requests, sent one after another or side by side with others in lock-step."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from harness.client import PlannedRequest
from harness.plans import Plan, run, run_side_by_side
from tests.conftest import FakeAnswer


@dataclass
class FakeClient:
    """Answers each request with its path; records what went out alone and what went out in batches."""

    alone: list[str] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)

    def request_planned(self, planned: PlannedRequest) -> FakeAnswer:
        self.alone.append(planned.path)
        return FakeAnswer(200, {"path": planned.path})

    def request_all(self, planned: list[PlannedRequest]) -> list[FakeAnswer]:
        self.batches.append([p.path for p in planned])
        return [FakeAnswer(200, {"path": p.path}) for p in planned]


def chain(name: str, steps: int) -> Plan[list[str]]:
    seen = []
    for step in range(steps):
        answer = yield PlannedRequest("POST", f"/{name}/{step}")
        seen.append(answer.body["path"])
    return seen


def failing_after(name: str, steps: int) -> Plan[None]:
    yield from chain(name, steps)
    raise ValueError(f"{name} gave up")


def test_run_sends_one_request_after_another_and_returns_the_result() -> None:
    client = FakeClient()
    assert run(client, chain("a", 3)) == ["/a/0", "/a/1", "/a/2"]
    assert client.alone == ["/a/0", "/a/1", "/a/2"] and client.batches == []


def test_run_raises_what_the_plan_raises() -> None:
    with pytest.raises(ValueError, match="a gave up"):
        run(FakeClient(), failing_after("a", 1))


def test_side_by_side_sends_the_nth_request_of_every_plan_in_one_batch() -> None:
    client = FakeClient()
    outcomes = run_side_by_side(client, [chain("a", 2), chain("b", 3), chain("c", 1)])
    assert [o.result for o in outcomes] == [["/a/0", "/a/1"], ["/b/0", "/b/1", "/b/2"], ["/c/0"]]
    assert client.batches == [["/a/0", "/b/0", "/c/0"], ["/a/1", "/b/1"], ["/b/2"]]
    assert client.alone == []


def test_a_plan_that_raises_ends_alone_and_its_error_is_its_outcome() -> None:
    client = FakeClient()
    first, second = run_side_by_side(client, [failing_after("a", 1), chain("b", 2)])
    assert isinstance(first.error, ValueError) and first.result is None
    assert second.error is None and second.result == ["/b/0", "/b/1"]
    assert client.batches == [["/a/0", "/b/0"], ["/b/1"]]


def test_a_test_outcome_is_not_swallowed() -> None:
    def skipping() -> Plan[None]:
        yield PlannedRequest("GET", "/x")
        pytest.skip("the target cannot make one")

    with pytest.raises(pytest.skip.Exception):
        run_side_by_side(FakeClient(), [skipping(), chain("b", 3)])
