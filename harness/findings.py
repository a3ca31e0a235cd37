"""Typed findings: one real defect of the target is one `Finding`, however many tests see it.

A check that is violated produces a `Finding` instead of a bare assertion message. Findings are identified by
``(category, check, operation, signature)``: the same defect seen by forty tests is one finding with
``count == 40`` and forty entries in ``tests``. A defect of shared code (no ``Request-Id`` header, error objects
without ``param``, ``limit`` ignored by every list, a field of the wrong type in every invoice answer: contract and
invariant findings, see ``harness.checks.ACROSS_OPERATIONS``) uses ``operation == ANY_OPERATION`` and lists where it
was seen in ``operations``, so it is one finding however many operations show it. Server errors and missing
operations stay one finding per operation.

Two ways to produce one:

- ``raise CheckFailed(finding)`` (what ``harness.checks.fail`` does): the property under test is violated and the
  test stops there, as an assertion would.
- ``record(finding)``: a cross-cutting property (JSON content type, ``Request-Id``, error envelope, ``livemode``,
  Unix-second timestamps, schema conformance) is violated; the finding is kept and the test goes on to check its
  own property. The pytest plugin (`harness.findings_plugin`) fails a test that recorded any finding, after it ran
  to the end.

Each finding keeps the smallest example seen (Hypothesis shrinks raised failures; for recorded ones the smallest
request wins, among the ones a replay can judge) and the requests that lead to it (`harness.steps`), so
`harness.replay` can send them again.

Interface (stable; other modules code against it):

- `Category`: the kind of defect, from the type of the check, never from a message prefix.
- `Finding`: category, check, operation, signature, detail, the example exchanges, count, tests, reproducible,
  plus operations (where seen), predicate (how a replay decides it reproduces) and replay (what the replay saw).
- `CheckFailed`: the exception carrying a finding.
- `record(finding)` / `collected()`: the process-wide registry (one per xdist worker; the controller merges with
  `merge`).
- `Finding.to_dict()` / `Finding.from_dict()`: the JSON form of reports/findings.json (documented in README.md).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ANY_OPERATION = "*"
# Per-run values that must not reach a check name or a signature: object IDs and long numbers (times, amounts).
# A Stripe object ID: a lowercase prefix, then 8+ random letters and digits with at least one digit or capital
# (``in_1Nv0aB2cD3``, ``inrtem_Q8...``); words such as ``financial_connections`` or ``invoice_doesnotexist`` are not.
ID_PATTERN = re.compile(r"\b[a-z]+(?:_[a-z]+)*_(?=[a-z]*[A-Z0-9])[A-Za-z0-9]{8,}\b")
_ID = ID_PATTERN
_NUMBER = re.compile(r"\b\d{6,}\b")
_INDEX = re.compile(r"\[\d+\]")


def stable(text: str) -> str:
    """`text` with per-run values folded (object IDs -> ``<id>``, long numbers -> ``<n>``, list indices -> ``[]``),
    so a check name or signature is the same in every run and for every object."""
    return _INDEX.sub("[]", _NUMBER.sub("<n>", _ID.sub("<id>", text)))


class Category(StrEnum):
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

    @property
    def heading(self) -> str:
        """``Contract violation``: the label capitalised, as failure messages and the Allure categories start."""
        return self.value[:1].upper() + self.value[1:]


def _exchange_dict(exchange: Any) -> dict[str, Any]:
    """``Exchange.to_dict()`` plus the account it was sent as (``"second"`` for the isolation tests' key)."""
    data = exchange.to_dict()
    data["account"] = getattr(exchange, "__dict__", {}).get("account", "primary")
    return data


def request_size(exchange: Any) -> int:
    """How big a request is, in UTF-8 bytes: its URL, every header (name and value) and its body. The measure
    "smallest example" minimises, so a plain request beats a fuzzed one with odd characters or extra headers."""
    def get(name: str) -> Any:
        return exchange.get(name) if isinstance(exchange, dict) else getattr(exchange, name, None)

    headers = get("request_headers") or {}
    parts = [get("url") or "", get("request_body") or "", *(f"{k}: {v}" for k, v in headers.items())]
    return sum(len(str(part).encode("utf-8", "surrogatepass")) for part in parts)


@dataclass
class Finding:
    """One distinct defect.

    :param category: the `Category`.
    :param check: the property violated, as a sentence (``"every response has a Request-Id header"``).
    :param operation: the operation's label (``"POST /v1/invoices"``), or ``ANY_OPERATION`` (``"*"``) for a defect
        of the whole server (then ``operations`` says where it was seen).
    :param signature: what identifies this defect within (category, check, operation): e.g. ``"header missing"``,
        ``"expected 400, got 200"``, ``"invoice.amount_due: type"``, ``"param=limit"``. Keep it free of IDs,
        timestamps and other per-run values, or the same defect splits into many findings (see `stable`).
    :param detail: the human explanation of the example kept.
    :param exchanges: the redacted exchanges that reproduce it, oldest first, each as ``Exchange.to_dict()``
        (method, url, path, params, headers, status, body, curl, ...). The last one shows the defect; the ones
        before it made the objects it acts on. Filled from ``raw`` when the finding is written out.
    :param count: how many times it was seen in this run.
    :param tests: pytest node IDs of the tests that saw it (each once).
    :param reproducible: ``True``/``False`` once replayed, ``None`` before (or when it cannot be replayed).
    :param operations: the operations it was seen on (labels, each once).
    :param predicate: how a replay decides whether it still happens: ``{"check": NAME, "kwargs": {...}}`` names a
        check registered with `register_check`, re-run on the replayed answer; ``None``: not replayable (e.g. a
        property spanning many requests), reported as seen.
    :param replay: what the replay saw (``"reproduced: ..."``, ``"not reproduced: ..."``, ``"inconclusive: ..."``).
    :param raw: the example as ``harness.client.Exchange`` objects (steps then the defect), converted lazily so
        recording stays cheap.
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
    operations: list[str] = field(default_factory=list)
    predicate: dict[str, Any] | None = None
    replay: str = ""
    raw: list[Any] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.check = stable(self.check)
        self.signature = stable(self.signature)
        self.operation = stable(self.operation)
        if self.operation != ANY_OPERATION and self.operation not in self.operations:
            self.operations.insert(0, self.operation)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.category.value, self.check, self.operation, self.signature)

    @property
    def id(self) -> str:
        """A stable 12-hex-digit identifier derived from the key (same defect, same id, in every run)."""
        return hashlib.sha1("\x1f".join(self.key).encode()).hexdigest()[:12]

    @property
    def where(self) -> str:
        """The operation, or for a server-wide defect the operations it was seen on (``"3 operations: ..."``)."""
        if self.operation != ANY_OPERATION:
            return self.operation
        ops = self.operations
        if len(ops) == 1:
            return ops[0]
        if not ops:
            return "any operation"
        shown = ", ".join(ops[:3]) + (", ..." if len(ops) > 3 else "")
        return f"{len(ops)} operations ({shown})"

    def headline(self) -> str:
        """``contract violation: GET /v1/invoices: every response has a Request-Id header (header missing)``."""
        return f"{self.category.value}: {self.where}{self.property_text()}"

    def property_text(self) -> str:
        """``": every response has a Request-Id header (header missing)"``: the check and signature as they
        follow the operation in a headline; empty for a missing operation (its category says it all)."""
        if self.category is Category.NOT_IMPLEMENTED:
            return ""
        tail = f" ({self.signature})" if self.signature else ""
        return f": {self.check}{tail}"

    def label(self) -> str:
        """``[id] contract violation: *: every response has a Request-Id header (header missing)``: like
        `headline` but built from the key alone, so it is the same in every test and worker (Allure groups by it).
        """
        return f"[{self.id}] {self.category.value}: {self.operation}{self.property_text()}"

    @property
    def size(self) -> int:
        """The size of the example's defect request (see `request_size`); large when there is none."""
        last = (self.raw or self.exchanges or [None])[-1]
        return request_size(last) if last is not None else 1 << 30

    @property
    def counts_as_defect(self) -> bool:
        """A defect of the target that did not fail to reproduce: what makes a run fail."""
        return self.category.is_defect and self.reproducible is not False

    def materialise(self) -> None:
        """Convert the raw exchanges to their redacted JSON form (done once, when the finding is written out)."""
        if self.raw:
            self.exchanges = [_exchange_dict(ex) for ex in self.raw]
            self.raw = []

    def better_example_than(self, other: Finding) -> bool:
        """Whether this occurrence is the better example of the defect: one a replay can judge (a predicate)
        first, then the smaller request."""
        return (self.predicate is not None, -self.size) > (other.predicate is not None, -other.size)

    def absorb(self, other: Finding) -> None:
        """Merge another occurrence of the same defect: counts add up, tests and operations join, and the
        smaller example (request size) is kept."""
        self.count += other.count
        for test in other.tests:
            if test not in self.tests:
                self.tests.append(test)
        for op in other.operations:
            if op not in self.operations:
                self.operations.append(op)
        if other.better_example_than(self):
            self.detail, self.exchanges, self.raw = other.detail, other.exchanges, other.raw
            self.predicate = other.predicate
        if other.reproducible is not None and self.reproducible is None:
            self.reproducible, self.replay = other.reproducible, other.replay

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (reports/findings.json, reports/findings/<id>.json); keys documented in README.md."""
        self.materialise()
        last = self.exchanges[-1] if self.exchanges else {}
        request = {k: last.get(k) for k in ("method", "url", "path", "params", "request_headers", "request_body")}
        response = {k: last.get(k) for k in ("status", "response_headers", "body")}
        return {
            "id": self.id,
            "category": self.category.value,
            "defect": self.counts_as_defect,
            "check": self.check,
            "operation": self.operation,
            "operations": list(self.operations),
            "signature": self.signature,
            "headline": self.headline(),
            "detail": self.detail,
            "count": self.count,
            "tests": list(self.tests),
            "reproducible": self.reproducible,
            "replay": self.replay,
            "predicate": self.predicate,
            "request": request if last else None,
            "response": response if last else None,
            "curl": [ex.get("curl", "") for ex in self.exchanges],
            "exchanges": self.exchanges,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The inverse of `to_dict` (the id, headline and request/response summaries are derived again)."""
        return cls(category=Category(data["category"]), check=data["check"], operation=data["operation"],
                   signature=data["signature"], detail=data.get("detail", ""),
                   exchanges=list(data.get("exchanges") or []), count=int(data.get("count", 1)),
                   tests=list(data.get("tests") or []), reproducible=data.get("reproducible"),
                   operations=list(data.get("operations") or []), predicate=data.get("predicate"),
                   replay=data.get("replay", ""))


def refused_request(what: str, resp: Any) -> Finding:
    """A request the harness needed (setup: making an object through a documented recipe) that the target refused,
    as a finding of that operation: a 5xx is a server error, any other non-2xx a contract violation ("a documented
    request is accepted"). `resp` is a `harness.client.Response`. Record it (`record`) and try the next recipe or
    skip; it is never a harness error.

    :param what: what was being made, e.g. ``"a draft invoice (recipe: empty draft with currency)"``; it goes
        into the detail, not the key, so every recipe refused by one operation in one way is one finding.
    """
    exchange = resp.exchange
    operation = stable(f"{exchange.method} {exchange.path}")
    body = resp.body if isinstance(resp.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = f" ({error['code']})" if isinstance(error.get("code"), str) else ""
    if resp.status >= 500:
        return Finding(Category.SERVER_ERROR, "a client request must never cause a 5xx", operation,
                       f"status {resp.status}", f"{what}: got {resp.status}", raw=[exchange],
                       predicate={"check": "no_server_error", "kwargs": {}})
    return Finding(Category.CONTRACT, "a documented request is accepted", ANY_OPERATION,
                   f"expected 2xx, got {resp.status}{code}", f"{what}: got {resp.status}{code}",
                   operations=[operation], raw=[exchange],
                   predicate={"check": "succeeds", "kwargs": {}})


class CheckFailed(AssertionError):
    """A check failed; carries the `Finding`. The message is the finding's headline, detail and exchange."""

    def __init__(self, finding: Finding, message: str | None = None) -> None:
        self.finding = finding
        super().__init__(message or f"{finding.category.heading}: {finding.where}: {finding.check}\n{finding.detail}")


_lock = threading.Lock()
_current_test: str | None = None
_registry: dict[tuple[str, str, str, str], Finding] = {}
_by_test: dict[str, list[tuple[str, str, str, str]]] = {}
_collectors: list[list[Finding]] = []
_on_new: list[Any] = []


def set_current_test(nodeid: str | None) -> None:
    """Called by the pytest plugin around each test, so findings know which test saw them."""
    global _current_test
    _current_test = nodeid


def current_test() -> str | None:
    """The node ID of the test running now (None between tests)."""
    return _current_test


def on_new_example(callback: Any) -> None:
    """Call ``callback(finding)`` whenever a finding is first kept or gets a smaller example (used by
    `harness.steps` to attach the requests leading to it while they are still known)."""
    _on_new.append(callback)


def record(finding: Finding) -> Finding:
    """Keep a finding (merged with an earlier one of the same key) and return the merged one.

    Inside `collecting()` (a replay re-running a check) the finding goes to the collector instead.
    """
    if _collectors:
        _collectors[-1].append(finding)
        return finding
    with _lock:
        test = _current_test
        if test and test not in finding.tests:
            finding.tests.append(test)
        merged = _registry.get(finding.key)
        new_example = merged is None or finding.better_example_than(merged)
        if merged is None:
            merged = _registry[finding.key] = finding
        else:
            merged.absorb(finding)
        if test:
            keys = _by_test.setdefault(test, [])
            if merged.key not in keys:
                keys.append(merged.key)
    if new_example:
        for callback in _on_new:
            callback(merged)
    return merged


@contextmanager
def collecting() -> Iterator[list[Finding]]:
    """Within the block, `record` collects into the yielded list instead of the registry (replays use it to
    re-run a check on a replayed answer without touching the run's findings)."""
    found: list[Finding] = []
    _collectors.append(found)
    try:
        yield found
    finally:
        _collectors.remove(found)


def findings_of(test: str) -> list[Finding]:
    """The findings a test recorded (by node ID), in the order it first saw them."""
    with _lock:
        return [_registry[k] for k in _by_test.get(test, ()) if k in _registry]


def collected() -> list[Finding]:
    """Every finding of this process, in the order first seen."""
    with _lock:
        return list(_registry.values())


def reset() -> None:
    """Forget everything (tests of the harness use it)."""
    with _lock:
        _registry.clear()
        _by_test.clear()


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """Findings of several processes (xdist workers, CI shards) merged by key, in the order first seen."""
    merged: dict[tuple[str, str, str, str], Finding] = {}
    for finding in findings:
        if finding.key in merged:
            merged[finding.key].absorb(finding)
        else:
            merged[finding.key] = finding
    return list(merged.values())


# -- checks a replay can re-run ----------------------------------------------------------------------------------

_checks: dict[str, Any] = {}


def register_check(name: str, function: Any) -> None:
    """Make a check re-runnable by `harness.replay`: ``function(operation, response, **kwargs)`` raises
    `CheckFailed` or calls `record` when the property does not hold. Findings name it in ``predicate``."""
    _checks[name] = function


def registered_check(name: str) -> Any:
    """The check registered as `name` (KeyError when none is)."""
    return _checks[name]
