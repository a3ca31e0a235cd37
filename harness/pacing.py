"""Pace and budget shared by every process of one run: a token bucket and a request counter in one small file.

All xdist workers of a run open the same state file (the controlling process creates it and hands its path to
the workers). Each request attempt takes the file's lock for a few microseconds, reserves its slot in the token
bucket and one unit of the budget, and then waits outside the lock until its slot comes. So the rate holds for
the run as a whole however many workers there are, and the budget is never exceeded: a request that finds it
spent is not sent at all.

Stripe documents a test-mode limit of 25 operations per second (https://docs.stripe.com/rate-limits); the
default pace on an external target, 20/s, stays below it.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

DEFAULT_EXTERNAL_RPS = 20.0
# next_free (monotonic seconds, float64), requests reserved (int64)
_STATE = struct.Struct("<dq")


class BudgetSpent(Exception):
    """The run's request budget (`--max-requests`) is spent: no further request may be sent."""


class LimitError(ValueError):
    """A pace or budget setting a person must fix (the message says how)."""


T = TypeVar("T", int, float)


def _limit_value(text: str | None, option: str, convert: Callable[[str], T], takes: str) -> T | None:
    """`text` converted, or None for "no limit" ("unlimited", "none" or empty); LimitError saying what `option`
    `takes` when it does not convert."""
    if text is None or str(text).strip().lower() in ("", "unlimited", "none"):
        return None
    try:
        return convert(text)
    except ValueError:
        raise LimitError(f"{option} takes {takes} (got {text!r})") from None


def parse_rate(text: str | None, option: str = "--max-rps") -> float | None:
    """Requests per second from an option value: a positive number, or "unlimited"/"none"/empty for no pace.

    Raises LimitError for zero, negative or non-numeric values.
    """
    rate = _limit_value(text, option, float, f"a number of requests per second, e.g. {option} 10")
    if rate is None:
        return None
    if not rate > 0 or rate == float("inf"):
        raise LimitError(f"{option} must be a positive number of requests per second (got {text!r}); "
                         f"use {option} unlimited for no pace")
    return rate


def parse_budget(text: str | None, option: str = "--max-requests") -> int | None:
    """A request budget from an option value: a positive integer, or empty for none. Raises LimitError."""
    budget = _limit_value(text, option, int, f"a whole number of requests, e.g. {option} 500")
    if budget is None:
        return None
    if budget <= 0:
        raise LimitError(f"{option} must be at least 1 (got {text!r}); leave it out for no budget")
    return budget


@dataclass(frozen=True)
class Limits:
    """The run's settings: `max_rps` in requests per second (None: no pace), `max_requests` (None: no budget)."""

    max_rps: float | None = None
    max_requests: int | None = None

    @property
    def active(self) -> bool:
        return self.max_rps is not None or self.max_requests is not None


class SharedLimiter:
    """The token bucket (capacity one request) and budget counter kept in `path`, shared across processes.

    `acquire()` is called once per request attempt, retries included: a retry loads the server like any request.
    """

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = Path(path)
        self.limits = limits
        self._fd: int | None = None
        self._pid = 0
        # flock excludes other processes only: the threads of one process (a concurrent batch) take this first.
        self._threads = threading.Lock()

    @staticmethod
    def create(path: Path) -> Path:
        """Write a fresh state file (nothing reserved yet); called once per run by the controlling process."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_STATE.pack(0.0, 0))
        return path

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own descriptor for flock
            self._fd = os.open(self.path, os.O_RDWR)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, charge: bool = True) -> None:
        """Reserve one request: wait for its slot in the pace; raise BudgetSpent (sending nothing) when spent.

        `charge=False` paces (and counts) a request the budget must not stop, such as the run's clean-up.
        """
        rate, budget = self.limits.max_rps, self.limits.max_requests
        with self._threads:
            slot, now = self._reserve(rate, budget, charge)
        if slot > now:
            time.sleep(slot - now)

    def _reserve(self, rate: float | None, budget: int | None, charge: bool) -> tuple[float, float]:
        """Take the next slot under the file lock: (when it comes, now), in monotonic seconds."""
        fd = self._file()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            next_free, reserved = _STATE.unpack(os.pread(fd, _STATE.size, 0))
            if charge and budget is not None and reserved >= budget:
                raise BudgetSpent(f"request budget spent ({reserved} of {budget} requests sent)")
            now = time.monotonic()  # CLOCK_MONOTONIC is system-wide: comparable between the run's processes
            slot = max(now, next_free)
            if rate is not None:
                next_free = slot + 1.0 / rate
            os.pwrite(fd, _STATE.pack(next_free, reserved + 1), 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return slot, now

    def spent(self) -> bool:
        """True when the budget is used up (always False without a budget)."""
        return self.limits.max_requests is not None and self.reserved() >= self.limits.max_requests

    def reserved(self) -> int:
        """Requests sent (or about to be) by the whole run so far."""
        return read_reserved(self.path)

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def read_reserved(path: Path) -> int:
    """The run-wide request count from a state file (0 when it is missing)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return 0
    return _STATE.unpack(data[:_STATE.size])[1] if len(data) >= _STATE.size else 0
