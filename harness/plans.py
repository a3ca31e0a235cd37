"""Plans: a chain of requests written once, sent alone or side by side with copies of itself.

A plan is a generator that yields each `PlannedRequest` it needs and is sent back the `Response`; its return value
is its result. It never touches the client, so the same code can be run two ways:

- `run` sends its requests one after another (`ApiClient.request_planned`);
- `run_side_by_side` runs several plans in lock-step: the first request of each goes out in one batch
  (`ApiClient.request_all`), then the second of each, and so on. Against a target 30 ms away, four plans of four
  requests take four round trips instead of sixteen.

Side by side is only for plans that do not depend on one another: each must make its own objects, and none may
act on state the others share (`harness.world` keeps such recipes out of it).

    def open_invoice(customer):
        inv = yield PlannedRequest("POST", "/v1/invoices", {"customer": customer})
        fin = yield PlannedRequest("POST", f"/v1/invoices/{inv.body['id']}/finalize")
        return fin.body

    invoice = run(api, open_invoice("cus_1"))
    first, second = run_side_by_side(api, [open_invoice("cus_1"), open_invoice("cus_1")])
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.client import ApiClient, PlannedRequest, Response

T = TypeVar("T")

Plan = Generator[PlannedRequest, Response, T]
"""A chain of requests: yields each request, is sent its answer, returns its result."""


@dataclass
class Outcome:
    """How one plan of `run_side_by_side` ended: its `result`, or the exception it raised (`error`)."""

    result: Any = None
    error: Exception | None = None


def run(api: ApiClient, plan: Plan[T]) -> T:
    """Send the plan's requests one after another; its result, or the exception it raised."""
    try:
        planned = next(plan)
        while True:
            planned = plan.send(api.request_planned(planned))
    except StopIteration as done:
        return done.value


def run_side_by_side(api: ApiClient, plans: Sequence[Plan[Any]]) -> list[Outcome]:
    """Run the plans in lock-step, each round's requests in one `ApiClient.request_all` batch (recorded in the
    plans' order); one `Outcome` per plan, in the order given.

    An `Exception` a plan raises ends that plan only (its `Outcome.error`); anything else (a test skip, an
    interrupt) and a `TransportError` of the batch propagate at once, the other plans left where they were.
    """
    outcomes = [Outcome() for _ in plans]
    waiting: dict[int, PlannedRequest] = {}
    for index, plan in enumerate(plans):
        _advance(plan, None, outcomes[index], waiting, index)
    while waiting:
        indexes = list(waiting)
        answers = api.request_all([waiting.pop(i) for i in indexes])
        for index, answer in zip(indexes, answers, strict=True):
            _advance(plans[index], answer, outcomes[index], waiting, index)
    return outcomes


def _advance(plan: Plan[Any], answer: Response | None, outcome: Outcome, waiting: dict[int, PlannedRequest],
             index: int) -> None:
    try:
        waiting[index] = next(plan) if answer is None else plan.send(answer)
    except StopIteration as done:
        outcome.result = done.value
    except Exception as exc:  # the plan's own failure, handed to the caller in its Outcome
        outcome.error = exc
