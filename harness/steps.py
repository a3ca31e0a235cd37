"""The requests that lead to a defect: which earlier calls made (and changed) the objects a failing request uses.

A finding's example is one request, but that request names objects (``POST /v1/invoices/in_123/pay``) that
earlier requests created and moved into a state. This module watches every exchange of the worker (cheaply: a
dict insert per object-creating or object-changing call) and, for a failing request, returns the shortest
sequence that rebuilds its world:

- for each object ID the request names (path, query or body), the request that created it, and the earlier
  successful POST/DELETE requests that changed it (its path names it, or it was created with a reference to it,
  like an invoice item attached to an invoice);
- then, recursively, the same for the IDs those requests name (a draft invoice needs its customer), but only
  the creators and path-named changes there, so a shared customer does not drag in every invoice of the run;
- the objects a finding is *about* (the IDs its detail names, e.g. the one invoice of a list whose amounts do not
  add up) count like the request's own, and for each of them the objects its creation answer shows (the pending
  items an invoice picked up, named only inside its lines) are made again too.

`harness.replay` sends the sequence again against any target, mapping each old ID to the one the target gives
back. Sequences are capped at `MAX_STEPS`; a longer history is cut to the most recent steps (the replay then
usually says "inconclusive" rather than guessing).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from harness import findings
from harness.findings import ID_PATTERN as _ID

MAX_STEPS = 40
MAX_SHOWN = 5  # objects of a defect's answer whose creation is replayed (a list shows many)
_MUTATING = frozenset({"POST", "DELETE"})

_lock = threading.Lock()
_seq = itertools.count(1)
_creators: dict[str, Any] = {}
_changes: dict[str, list[Any]] = defaultdict(list)
_references: dict[str, list[Any]] = defaultdict(list)
_SECOND = "second"
_observed = [0]


def observed() -> int:
    """How many exchanges this process has seen (0: no test talked to a target)."""
    return _observed[0]


def ids_in(exchange: Any) -> list[str]:
    """Object IDs a request names, in its path, query string or body (each once, in order)."""
    text = f"{exchange.url} {exchange.request_body or ''}"
    return list(dict.fromkeys(_ID.findall(text)))


def body_ids(value: Any, depth: int = 0) -> list[str]:
    """Object IDs in an answer's ``id`` fields, at any depth up to 4 (lists' items included)."""
    out: list[str] = []
    if depth > 4:
        return out
    if isinstance(value, dict):
        object_id = value.get("id")
        if isinstance(object_id, str) and _ID.fullmatch(object_id):
            out.append(object_id)
        for item in value.values():
            if isinstance(item, dict | list):
                out += body_ids(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            out += body_ids(item, depth + 1)
    return out


def observe(exchange: Any, account: str = "primary") -> None:
    """Note one exchange (the client's on_exchange hook calls this for every attempt).

    :param account: ``"primary"`` (the run's key) or ``"second"`` (the second account's key, isolation tests);
        ``harness.replay`` uses it to pick the key again.
    """
    exchange.__dict__["_seq"] = next(_seq)
    _observed[0] += 1
    if account == _SECOND:
        exchange.__dict__["account"] = _SECOND
    if exchange.method not in _MUTATING or exchange.status is None or not 200 <= exchange.status < 300:
        return
    body = exchange.body
    created = body.get("id") if isinstance(body, dict) and exchange.method == "POST" else None
    path_ids = _ID.findall(exchange.path)
    with _lock:
        if isinstance(created, str) and created not in path_ids and created not in _creators:
            _creators[created] = exchange
        if exchange.method == "POST":  # objects made on the way (a verification report by verify, ...)
            for object_id in body_ids(body):
                _creators.setdefault(object_id, exchange)
        for object_id in path_ids:
            _changes[object_id].append(exchange)
        if isinstance(created, str) and created not in path_ids:
            for object_id in ids_in(exchange):
                if object_id != created and object_id not in path_ids:
                    _references[object_id].append(exchange)


def _text(body: Any) -> str:
    """An answer as text, for finding the IDs it names anywhere (``""`` when it cannot be serialised)."""
    try:
        return json.dumps(body, default=str)
    except (TypeError, ValueError):
        return ""


def account_of(exchange: Any) -> str:
    """``"second"`` for an exchange sent with the second account's key, else ``"primary"``."""
    return exchange.__dict__.get("account", "primary") if hasattr(exchange, "__dict__") else "primary"


def steps_for(*exchanges: Any, about: Iterable[str] = ()) -> list[Any]:
    """The earlier exchanges that rebuild the objects `exchanges` use, oldest first (see the module doc).

    :param about: IDs of the objects the defect is about (named in a finding's detail); rebuilt like the ones the
        request names, with the objects their creation answers show.
    """
    before = min(ex.__dict__.get("_seq", 1 << 62) for ex in exchanges)
    chosen: dict[int, Any] = {}
    seen: set[str] = set()
    focus = set(about)
    with _lock:
        frontier = [(object_id, 0) for object_id in focus]
        frontier += [(object_id, 0) for ex in exchanges for object_id in ids_in(ex)]
        # What the defect's answer shows (a list's objects) must exist again too.
        frontier += [(object_id, 1) for object_id in body_ids(exchanges[-1].body)[:MAX_SHOWN]]
        while frontier:
            object_id, depth = frontier.pop(0)
            if object_id in seen:
                continue
            seen.add(object_id)
            creator = _creators.get(object_id)
            related = [creator, *_changes.get(object_id, ())]
            if depth == 0:
                related += _references.get(object_id, ())
            if object_id in focus and creator is not None:  # objects folded into it when it was made
                frontier += [(i, 1) for i in _ID.findall(_text(creator.body)) if i not in seen]
            for step in related:
                if step is None:
                    continue
                seq = step.__dict__.get("_seq", 0)
                if seq >= before or seq in chosen:
                    continue
                chosen[seq] = step
                frontier += [(i, depth + 1) for i in ids_in(step) if i not in seen]
    ordered = [chosen[s] for s in sorted(chosen)]
    return ordered[-MAX_STEPS:]


def _attach_steps(finding: findings.Finding) -> None:
    """findings' new-example callback: prefix the example's defect request with the steps that lead to it."""
    if not finding.raw:
        return
    last = finding.raw[-1]
    if finding.__dict__.get("_stepped_for") is last or not hasattr(last, "__dict__"):
        return
    finding.raw = [*steps_for(*finding.raw, about=_ID.findall(finding.detail)), *finding.raw]
    finding.__dict__["_stepped_for"] = last


def reset() -> None:
    """Forget every observed exchange (tests of the harness use it)."""
    with _lock:
        _observed[0] = 0
        _creators.clear()
        _changes.clear()
        _references.clear()


findings.on_new_example(_attach_steps)
