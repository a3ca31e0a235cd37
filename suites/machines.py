"""The base of the lifecycle state machines: call the API as a rule, check the answer against the model.

Every call a rule makes is one Allure step (so a shrunk failing sequence reads top to bottom in the report), and
Hypothesis prints the same sequence as code. An invariant's read-backs (`read_back`) are not steps: they are
thousands in a run, and the test's exchange lines list them. An action the model says is illegal must be a 400
that changes nothing.

A machine gets what it talks to through its constructor, and a test runs it with `run_machine`, which hands
Hypothesis (``run_state_machine_as_test``) a factory::

    run_machine(InvoiceLifecycle, api, contract, world, rules, profile=profile, threads=machine_threads)

`run_machine` runs the profile's runs in up to `threads` threads side by side. A run sends its requests one after
another, so against a distant target a worker mostly waits; two runs wait together. Each extra thread gets a client
of its own (`ApiClient.thread_sibling`: its own count of writes, on which reusing a read rests) and a world of its
own (`World.for_client`: its own objects), so the threads never touch one another's objects, as two workers do not.
Their Allure steps are written by the test's thread once they are done (`harness.thread_steps`).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, run_state_machine_as_test

from contracts.loader import Contract, fill_path
from contracts.rules import Decision
from harness import allure_http, depth, thread_steps
from harness.checks import INVARIANT, fail, is_stripe_error, succeeds
from harness.client import ApiClient, PlannedRequest, Response
from harness.profiles import Profile
from harness.world import World

if TYPE_CHECKING:
    from suites.conftest import RuleGate


Check = TypeVar("Check", bound=Callable[..., None])


def read_back(check: Check) -> Check:
    """Mark an invariant of an `ApiCalls` machine whose calls only read the server back: they are not Allure steps
    of their own (the test's exchange lines list them, and a failure attaches them in full)."""
    @functools.wraps(check)
    def reading(self: ApiCalls, *args: Any, **kwargs: Any) -> Any:
        self.steps = False
        try:
            return check(self, *args, **kwargs)
        finally:
            self.steps = True
    return reading  # type: ignore[return-value]


Read = tuple[str, dict[str, str] | None, dict | None]
"""A read for `ApiCalls.read_ahead`: (operation ID, path params, params), as `ApiCalls.send` takes them."""

_UNSETTLED = frozenset({429, 500, 502, 503, 504})
"""Statuses of a read that say nothing settled about the object: such an answer is never reused."""


def _read_key(operation_id: str, path_params: dict[str, str] | None, params: dict | None) -> tuple[str, str, str]:
    return operation_id, repr(path_params or {}), repr(params or None)


class ApiCalls:
    """Calls with the checks every lifecycle step makes: `ok` for legal actions, `refused` for illegal ones.

    A read (GET) is sent once per state: its answer is reused for the same read until the client sends anything
    else (`ApiClient.writes` changes; the objects a machine reads are its own, so only its client's writes change
    them). So the read an invariant made after a step is the "before" of the next step's refused action, and the
    reads `refused` makes after the action are the ones the next invariant checks.
    """

    steps = True  # each call is an Allure step (False inside a `read_back` invariant)

    def __init__(self, api: ApiClient, contract: Contract):
        self.api, self.contract = api, contract
        self._answers: dict[tuple[str, str, str], Response] = {}
        self._answers_at = -1  # the client's `writes` when the answers were read

    def read_backs(self) -> list[Read]:
        """The reads this machine's invariant checks after every step; `refused` sends them in its own batch."""
        return []

    def _answered(self) -> dict[tuple[str, str, str], Response]:
        """The answers read since the client's last write (forgotten as soon as it writes)."""
        if self._answers_at != self.api.writes:
            self._answers.clear()
            self._answers_at = self.api.writes
        return self._answers

    def read_ahead(self, reads: list[Read]) -> None:
        """Send the `reads` not answered yet in this state as one batch (`ApiClient.request_all`: up to the
        client's concurrency at once, recorded in this order); the `send`/`ok` calls that follow take the answers.
        Only for reads, whose order does not matter."""
        answered = self._answered()
        keys = {_read_key(*read): read for read in reads}
        missing = {key: read for key, read in keys.items() if key not in answered}
        if missing:
            answers = self.api.request_all([self._plan(*read) for read in missing.values()])
            for key, answer in zip(missing, answers, strict=True):
                self._keep(key, answer)

    def _keep(self, key: tuple[str, str, str], answer: Response) -> None:
        if answer.status not in _UNSETTLED:
            self._answered()[key] = answer

    def _plan(self, operation_id: str, path_params: dict[str, str] | None, params: dict | None) -> PlannedRequest:
        """The request that calls `operation_id` with these path params and params."""
        op = self.contract[operation_id]
        return PlannedRequest(op.method, fill_path(op.path, path_params or {}), params or None, op.operation_id)

    def send(self, operation_id: str, path_params: dict[str, str] | None = None, params: dict | None = None,
             **kwargs: Any) -> Response:
        """Call the operation (one Allure step in a rule); a read already answered in this state is not sent."""
        plan = self._plan(operation_id, path_params, params)
        key = _read_key(operation_id, path_params, params) if plan.method == "GET" and not kwargs else None
        if key is not None and key in self._answered():
            return self._answers[key]
        title = " ".join(str(part) for part in ("rule:", plan.operation, path_params, params) if part)
        step = thread_steps.step(title) if self.steps else contextlib.nullcontext()
        with step:
            resp = self.api.request(plan.method, plan.path, plan.params, operation=plan.operation, **kwargs)
        if key is not None:
            self._keep(key, resp)
        return resp

    def ok(self, operation_id: str, path_params: dict[str, str] | None = None, params: dict | None = None,
           what: str = "a legal transition succeeds") -> dict:
        op = self.contract[operation_id]
        return succeeds(op, self.send(operation_id, path_params, params), what)

    def refused(self, operation_id: str, path_params: dict[str, str], params: dict | None = None, *,
                read: tuple[str, dict[str, str]], what: str, status: int | tuple[int, ...] = 400,
                context: str = "") -> dict:
        """An illegal action: a Stripe 400 (or `status`), and the object read back unchanged. `context` (which
        case this is) goes into the finding's detail, so one broken rule is one finding whatever case shows it.

        `read` is the read that shows the object; the read before the action is usually the last invariant's,
        and the one after goes out in one batch with the next invariant's (`read_backs`)."""
        read_op, read_params = read
        before = self.ok(read_op, read_params, what="the object can be read")
        resp = self.send(operation_id, path_params, params)
        op = self.contract[operation_id]
        error = is_stripe_error(op, resp, status=status, error_type=None, what=what, context=context)
        self.read_ahead([(read_op, read_params, None), *self.read_backs()])
        after = self.ok(read_op, read_params, what="the object can be read")
        if before != after:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            fail(INVARIANT, op, f"{what}, and changes nothing", f"fields changed by the refused request: {changed}",
                 resp)
        return error


class ApiMachine(RuleBasedStateMachine, ApiCalls):
    """A state machine whose rules call the API; subclasses add a model and rules.

    :param rule_gate: which rows of the rules table (`contracts/rules.yaml`) this run asserts; None asserts all.
    """

    def __init__(self, api: ApiClient, contract: Contract, world: World, rule_gate: RuleGate | None = None) -> None:
        RuleBasedStateMachine.__init__(self)
        ApiCalls.__init__(self, api, contract)
        self.world, self.rule_gate = world, rule_gate
        depth.run_started()
        thread_steps.section("run")  # in an extra thread of `run_machine`, this run's steps under "run N"

    def asserts(self, decision: Decision) -> Decision | None:
        """`decision` when this run may assert the rows it rests on, else None (the step then asserts nothing: the
        model could not follow an answer it cannot predict)."""
        return decision if self.rule_gate is None or self.rule_gate.allows(decision.rules) else None

    @invariant()
    def count_steps(self) -> None:
        """Counts depth for the run summary (Hypothesis checks invariants after set-up and after every step)."""
        depth.invariants_checked()


def machine_settings(profile: Profile) -> settings:
    """Settings for `run_state_machine_as_test`: `profile.machines` runs of up to `profile.steps` steps each."""
    return settings(max_examples=profile.machines, stateful_step_count=profile.steps)


class MachineFactory:
    """``machine(*args)`` as a factory for ``run_state_machine_as_test``, named after the machine's class.

    Hypothesis keys its example database on the factory's source, else its ``__name__``. A callable object has no
    source, so the key is the class's name, and each machine replays its own failing examples, not another's (a
    ``functools.partial`` has no name either: every machine shared one key). Nor does Hypothesis parse source to
    get the key: ``ast`` parsing in two threads at once can fail with "AST constructor recursion depth mismatch"
    (seen on CPython 3.11)."""

    def __init__(self, machine: type[ApiMachine], *args: Any) -> None:
        self.machine, self.args = machine, args
        self.__name__ = f"{machine.__module__}.{machine.__qualname__}"

    def __call__(self) -> ApiMachine:
        return self.machine(*self.args)


def shares(runs: int, threads: int) -> list[int]:
    """How many of `runs` each thread runs: an even split over at most `threads` threads (never one with none),
    the first ones taking one more when it does not divide. ``shares(5, 2) == [3, 2]``, ``shares(1, 2) == [1]``."""
    count = max(1, min(threads, runs))
    return [runs // count + (1 if i < runs % count else 0) for i in range(count)]


def run_machine(machine: type[ApiMachine], api: ApiClient, contract: Contract, world: World, *args: Any,
                profile: Profile, threads: int = 1) -> None:
    """Run `machine` as a Hypothesis state-machine test: `profile.machines` runs of up to `profile.steps` steps,
    split over up to `threads` threads side by side (`shares`), each thread one ``run_state_machine_as_test``.

    The calling thread runs the first share with `api` and `world`; every other thread with its own
    (`ApiClient.thread_sibling`, `World.for_client`), its steps written to Allure once it is done
    (`harness.thread_steps`). Every thread runs to its end.

    :param args: passed to `machine` after ``(api, contract, world)`` (its rule gate).
    :raises: what a failing thread raised: Hypothesis's error for the shrunk failing run (a `CheckFailed`, whose
        Allure page then shows that thread's last exchanges); an ``ExceptionGroup`` of them when several threads
        failed; a skip only when no thread failed.
    """
    every = shares(profile.machines, threads)
    outcomes: list[tuple[int, BaseException]] = []

    recorded: dict[int, tuple[thread_steps.Recorded, int]] = {}  # thread number -> its steps, its ident

    def run(client: ApiClient, own_world: World, runs: int) -> None:
        run_state_machine_as_test(MachineFactory(machine, client, contract, own_world, *args),
                                  settings=settings(machine_settings(profile), max_examples=runs))

    def extra(number: int, runs: int) -> None:
        client = api.thread_sibling()
        with thread_steps.capture(f"runs in thread {number}") as steps:
            try:
                run(client, world.for_client(client), runs)
            except BaseException as exc:  # raised in the test's thread, by _raise_outcomes
                outcomes.append((threading.get_ident(), exc))
        recorded[number] = steps, threading.get_ident()

    started = [threading.Thread(target=extra, args=(i + 2, runs), name=f"{machine.__name__}-{i + 2}", daemon=True)
               for i, runs in enumerate(every[1:])]
    for thread in started:
        thread.start()
    try:
        run(api, world, every[0])
    except (KeyboardInterrupt, SystemExit):
        raise  # the person or the process stops the run: no waiting for the other threads
    except BaseException as exc:
        outcomes.insert(0, (threading.get_ident(), exc))
    for thread in started:
        thread.join()
    errors = dict(outcomes)
    for number in sorted(recorded):
        steps, ident = recorded[number]
        thread_steps.write(steps, errors.get(ident))
    _raise_outcomes(machine, outcomes)


def _raise_outcomes(machine: type[ApiMachine], outcomes: list[tuple[int, BaseException]]) -> None:
    """Raise what `run_machine`'s threads raised: the failures (one, or a group), else the first skip."""
    failures = [(ident, exc) for ident, exc in outcomes if not isinstance(exc, pytest.skip.Exception)]
    if not failures:
        if outcomes:
            raise outcomes[0][1]
        return
    ident, first = failures[0]
    if ident != threading.get_ident():
        allure_http.adopt_kept(ident)  # the failing thread's last exchanges go on the test's page
    if len(failures) == 1:
        raise first
    raise BaseExceptionGroup(f"{machine.__name__}: {len(failures)} threads found a failing run",
                             [exc for _, exc in failures])


def expect(condition: bool, op_label: str, prop: str, detail: str, resp: Response | None = None) -> None:
    if not condition:
        fail(INVARIANT, op_label, prop, detail, resp)
