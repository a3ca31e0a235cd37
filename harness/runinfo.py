"""What one run did on its target: its run id, the requests and 429s it counted, and the objects it created.

Each process of a run keeps a `RunLedger` fed by every exchange the client records, and saves it as
`run-parts/<worker>.json` in the reports folder at the end; the controlling process merges the parts for the
run summary, and `python -m harness.cleanup --ledger` can clean up from them later.

The run id tags every object the harness builds (`metadata[harness_run]=<run id>`), so a person can find what a
run left on a shared server, and the clean-up can prove an object is the run's own before touching it.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TAG_KEY = "harness_run"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def new_run_id() -> str:
    """A run id people can read and sort: UTC date and time plus a random suffix, e.g. run-20261129-194500-3f2a."""
    return f"run-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    """The run id if usable as a metadata value and in a search query; ValueError with the rule otherwise."""
    if not RUN_ID_PATTERN.match(run_id):
        raise ValueError(f"a run id is 1-100 letters, digits, '.', '_' or '-' (got {run_id!r})")
    return run_id


def tag(run_id: str, metadata: dict[str, str] | None = None) -> dict[str, str]:
    """`metadata` with the run's tag added (a new dict)."""
    return {**(metadata or {}), TAG_KEY: run_id}


def is_tagged(obj: dict[str, Any], run_id: str) -> bool:
    """True when the object's metadata carries exactly this run's tag."""
    metadata = obj.get("metadata")
    return isinstance(metadata, dict) and metadata.get(TAG_KEY) == run_id


# A POST whose answer is an object whose ID is not in the path created it (an action on an existing object answers
# with that object, and its ID is in the path). Previews are never stored, so there is nothing to clean up.
_NOT_STORED = ("/v1/invoices/create_preview",)


def created_object(method: str, path: str, status: int | None, body: Any) -> dict[str, Any] | None:
    """The object a request created, judged from the exchange; None when it created nothing."""
    if method != "POST" or status != 200 or not isinstance(body, dict) or path in _NOT_STORED:
        return None
    object_id, kind = body.get("id"), body.get("object")
    if not isinstance(object_id, str) or not isinstance(kind, str) or object_id in path:
        return None
    return body


@dataclass
class RunLedger:
    """Counts and created objects of one process; thread-safe (clients may be shared between threads)."""

    run_id: str
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    created: dict[str, str] = field(default_factory=dict)  # id -> object type, in creation order
    tagged: set[str] = field(default_factory=set)
    budget_skips: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, method: str, path: str, status: int | None, body: Any) -> None:
        """Count one attempt and remember the object it created, if any."""
        obj = created_object(method, path, status, body)
        with self._lock:
            self.requests += 1
            if status is not None:
                self.statuses[status] += 1
            if obj is not None:
                self.created[obj["id"]] = obj["object"]
                if is_tagged(obj, self.run_id):
                    self.tagged.add(obj["id"])

    @property
    def throttled(self) -> int:
        """How many answers were 429 Too Many Requests."""
        return self.statuses[429]

    def to_dict(self) -> dict[str, Any]:
        """``{"run_id", "requests", "throttled", "budget_skips", "created": [{"id", "object", "tagged"}]}``: counts
        of attempts, of 429 answers and of tests skipped for the budget, and every object the run created."""
        with self._lock:
            return {"run_id": self.run_id, "requests": self.requests, "throttled": self.throttled,
                    "budget_skips": self.budget_skips,
                    "created": [{"id": i, "object": k, "tagged": i in self.tagged} for i, k in self.created.items()]}

    def save(self, path: Path) -> None:
        """Write `to_dict` as JSON to `path` (its folder made if needed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1))


@dataclass
class RunTotals:
    """The merged ledgers of every process of a run."""

    run_id: str = ""
    requests: int = 0
    throttled: int = 0
    budget_skips: int = 0
    created: list[dict[str, Any]] = field(default_factory=list)
    cleanups: list[dict[str, Any]] = field(default_factory=list)


def load_parts(folder: Path) -> RunTotals:
    """Merge every `*.json` ledger in `folder` (missing folder: empty totals)."""
    totals = RunTotals()
    for part in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        data = json.loads(part.read_text())
        totals.run_id = totals.run_id or data["run_id"]
        totals.requests += data["requests"]
        totals.throttled += data["throttled"]
        totals.budget_skips += data.get("budget_skips", 0)
        totals.created += data["created"]
        totals.cleanups.append(data.get("cleanup") or {})
    return totals
