"""Typed findings: one real defect of the target is one `Finding`, however many tests see it.

A check that is violated produces a `Finding` instead of a bare assertion message. Findings are identified by
``(category, check, operation, signature)``: the same defect seen by forty tests is one finding with
``count == 40`` and forty entries in ``tests``.

Two ways to produce one:

- ``raise CheckFailed(finding)`` (what ``suites.checks.fail`` does): the property under test is violated and the
  test stops there, as an assertion would.
- ``record(finding)``: a cross-cutting property (JSON content type, ``Request-Id``, error envelope, ``livemode``,
  Unix-second timestamps, schema conformance) is violated; the finding is kept and the test goes on to check its
  own property. The pytest plugin fails a test that recorded any finding, after it ran to the end.

Interface (stable; other modules code against it):

- `Category`: the kind of defect, from the type of the check, never from a message prefix.
- `Finding`: category, check, operation, signature, detail, the example exchanges, count, tests, reproducible.
- `CheckFailed`: the exception carrying a finding.
- `record(finding)` / `collected()`: the process-wide registry (one per xdist worker; the controller merges).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Category(str, Enum):
    """What kind of defect a finding is. The value is the label people read (reports, summaries)."""

    SERVER_ERROR = "server error"  # a 5xx answer to a client request
    CONTRACT = "contract violation"  # status, schema, header, content type, error shape
    INVARIANT = "invariant violation"  # state, arithmetic, cross-request properties
    NOT_IMPLEMENTED = "not implemented"  # the target does not implement an operation (capability discovery)
    FLAKY = "flaky"  # seen once, did not reproduce when replayed; never counted as a defect
    HARNESS = "harness error"  # a bug in the harness itself, never a defect of the target

    @property
    def is_defect(self) -> bool:
        """True for categories that count as a defect of the target."""
        return self not in (Category.FLAKY, Category.HARNESS)


@dataclass
class Finding:
    """One distinct defect.

    :param category: the `Category`.
    :param check: the property violated, as a sentence (``"every response has a Request-Id header"``).
    :param operation: the operation's label (``"POST /v1/invoices"``), or ``"*"`` when it is not tied to one.
    :param signature: what identifies this defect within (category, check, operation): e.g. ``"header missing"``,
        ``"expected 400, got 200"``, ``"lines.data[].amount: type"``, ``"param=limit"``. Keep it free of IDs,
        timestamps and other per-run values, or the same defect splits into many findings.
    :param detail: the human explanation of the first occurrence.
    :param exchanges: the redacted exchanges that reproduce it, oldest first, each as ``Exchange.to_dict()``
        (method, url, path, params, headers, status, body, curl, ...). The last one shows the defect.
    :param count: how many times it was seen in this run.
    :param tests: pytest node IDs of the tests that saw it (each once).
    :param reproducible: ``True``/``False`` once replayed, ``None`` before.
    """

    category: Category
    check: str
    operation: str
    signature: str
    detail: str = ""
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    count: int = 1
    tests: list[str] = field(default_factory=list)
    reproducible: bool | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.category.value, self.check, self.operation, self.signature)

    @property
    def id(self) -> str:
        """A stable 12-hex-digit identifier derived from the key (same defect, same id, in every run)."""
        return hashlib.sha1("\x1f".join(self.key).encode()).hexdigest()[:12]

    def headline(self) -> str:
        """``contract violation: GET /v1/invoices: every response has a Request-Id header (header missing)``."""
        return f"{self.category.value}: {self.operation}: {self.check} ({self.signature})"


class CheckFailed(AssertionError):
    """A check failed; carries the `Finding`. The message is the finding's headline, detail and exchange."""

    def __init__(self, finding: Finding, message: str | None = None) -> None:
        self.finding = finding
        super().__init__(message or f"{finding.headline()}\n{finding.detail}")


_lock = threading.Lock()
_current_test: str | None = None
_registry: dict[tuple[str, str, str, str], Finding] = {}
_by_test: dict[str, list[str]] = {}


def set_current_test(nodeid: str | None) -> None:
    """Called by the pytest plugin around each test, so findings know which test saw them."""
    global _current_test
    _current_test = nodeid


def record(finding: Finding) -> Finding:
    """Keep a finding (merged with an earlier one of the same key) and return the merged one."""
    with _lock:
        test = _current_test
        merged = _registry.get(finding.key)
        if merged is None:
            merged = _registry[finding.key] = finding
            if test and test not in finding.tests:
                finding.tests.append(test)
        else:
            merged.count += finding.count
            for t in [*finding.tests, *([test] if test else [])]:
                if t not in merged.tests:
                    merged.tests.append(t)
        if test:
            ids = _by_test.setdefault(test, [])
            if merged.id not in ids:
                ids.append(merged.id)
        return merged


def findings_of(test: str) -> list[Finding]:
    """The findings a test recorded (by node ID)."""
    with _lock:
        ids = set(_by_test.get(test, ()))
        return [f for f in _registry.values() if f.id in ids]


def collected() -> list[Finding]:
    """Every finding of this process, in the order first seen."""
    with _lock:
        return list(_registry.values())


def reset() -> None:
    """Forget everything (tests of the harness use it)."""
    with _lock:
        _registry.clear()
        _by_test.clear()
