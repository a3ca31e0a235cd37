"""Allure steps made in a test's other threads, written into the report by the test's own thread.

Allure's lifecycle (``allure_commons.lifecycle.AllureLifecycle``) keeps one stack of open steps per process. A step
opened in one thread while another thread has one open would nest under that one, and closing it would close the
wrong step. So only the test's own thread talks to Allure. A thread the test starts for work of its own (a state
machine's runs side by side, `suites.machines.run_machine`) runs inside `capture`: its `step` and `later` calls are
recorded in memory, and once it is done the test's thread `write`s them, as steps under one step of their own::

    with capture("runs in thread 2") as recorded:   # in the extra thread
        with step("rule: FinalizeInvoice ..."):      # recorded, not sent to Allure
            ...
    write(recorded)                                  # in the test's thread, after joining it

In the test's own thread (any thread outside `capture`) `step` is ``allure.step`` and `later` calls at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import allure

from harness.redaction import scrub

_local = threading.local()


@dataclass
class Recorded:
    """A step recorded in a captured thread: its title and, in order, its sub-steps and deferred calls."""

    title: str
    children: list[Recorded | Callable[[], Any]] = field(default_factory=list)


def captured() -> bool:
    """Whether this thread runs inside `capture` (its steps wait for `write`)."""
    return bool(getattr(_local, "open", None))


@contextlib.contextmanager
def capture(title: str) -> Iterator[Recorded]:
    """Record this thread's `step` and `later` calls under one step titled `title`, for `write` to report."""
    root = Recorded(title)
    outer = getattr(_local, "open", None)
    _local.open = [root]
    try:
        yield root
    finally:
        _local.open = outer


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    """``allure.step(title)``, or, in a captured thread, a recorded step (its inner steps recorded under it)."""
    opened = getattr(_local, "open", None)
    if not opened:
        with allure.step(title):
            yield
        return
    recorded = Recorded(title)
    opened[-1].children.append(recorded)
    opened.append(recorded)
    try:
        yield
    finally:
        opened.remove(recorded)


def section(title: str) -> None:
    """In a captured thread, start a new top-level step titled `title` and its number in the thread ("run 2"),
    closing the open ones: one per state-machine run. One that recorded nothing is replaced (Hypothesis sets up
    machines it then discards). Outside `capture`, nothing: the test's own thread shows its steps as they come."""
    opened = getattr(_local, "open", None)
    if not opened:
        return
    root = opened[0]
    if len(opened) > 1 and not opened[1].children:  # the open section (never called inside a step)
        root.children.remove(opened[1])
    number = sum(isinstance(child, Recorded) for child in root.children) + 1
    recorded = Recorded(f"{title} {number}")
    root.children.append(recorded)
    opened[1:] = [recorded]


def later(report: Callable[[], Any]) -> None:
    """Call `report` (something that writes to Allure) now, or, in a captured thread, when its steps are written,
    in its place among them."""
    opened = getattr(_local, "open", None)
    if opened:
        opened[-1].children.append(report)
    else:
        report()


class ThreadFailed(Exception):
    """Marks the step of a captured thread that failed (its message: the first line of that thread's error)."""


def write(recorded: Recorded, error: BaseException | None = None) -> None:
    """Report what a captured thread recorded as Allure steps, from the test's own thread (after that thread is
    done); a no-op without an Allure listener, as ``allure.step`` is. With the `error` the thread raised, its step
    is marked broken with the error's first line (the error itself is the test's to raise)."""
    try:
        with allure.step(recorded.title):
            for child in recorded.children:
                if isinstance(child, Recorded):
                    write(child)
                else:
                    child()
            if error is not None:
                first = (str(error).strip().splitlines() or [""])[0]
                raise ThreadFailed(scrub(f"{type(error).__name__}: {first}"))
    except ThreadFailed:
        if error is None:
            raise
