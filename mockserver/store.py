"""In-memory state, per account (API key): collections of objects with an ordered index for pagination.

Handlers run on the event loop thread and never await while they mutate state, so every request is applied
atomically with respect to the others; the lock below only guards callers on other threads (tests, helpers).

A request also applies whole or not at all: `Account.transaction()` keeps an undo log (`Journal`) while a
handler runs. Every object a handler can reach (`get`, `require`, iteration) is snapshotted the first time it is
reached, and every structural change (add, remove, dropped collection, numbering counter) records its inverse,
so a handler that fails halfway (a 4xx from a late check, or a bug) is undone completely.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from mockserver.errors import no_such
from mockserver.idempotency import Replays

_ALPHABET = string.ascii_letters + string.digits
# Random bytes -> base62 characters in one C call: byte b maps to _ALPHABET[b % 62]; bytes >= 248 (= 4 * 62) are
# dropped so that every character stays equally likely (same distribution as secrets.choice, one urandom call).
_ID_TABLE = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_ID_REJECT = bytes(range(4 * len(_ALPHABET), 256))
_ID_CHARS = 24


def new_id(prefix: str) -> str:
    """Stripe-like IDs: a prefix and 24 random base62 characters."""
    chars = b""
    while len(chars) < _ID_CHARS:
        chars += secrets.token_bytes(32).translate(_ID_TABLE, _ID_REJECT)
    return f"{prefix}_{chars[:_ID_CHARS].decode('ascii')}"


def now() -> int:
    return int(time.time())


class Journal:
    """The undo log of one request: snapshots of the objects it reached and the inverse of each structural change."""

    def __init__(self) -> None:
        self.snapshots: dict[int, tuple[dict, bytes]] = {}
        self.undo: list[Callable[[], None]] = []

    def seen(self, obj: dict) -> dict:
        """Remember `obj` as it is now (once per request); returns it."""
        key = id(obj)
        if key not in self.snapshots:
            self.snapshots[key] = (obj, orjson.dumps(obj))
        return obj

    def rollback(self) -> None:
        """Put every reached object and every collection back as they were before the request."""
        for obj, saved in self.snapshots.values():
            obj.clear()
            obj.update(orjson.loads(saved))
        for step in reversed(self.undo):
            step()
        self.snapshots.clear()
        self.undo.clear()


class Collection:
    """Objects of one kind, newest first, with O(1) cursor lookup.

    `order` keeps IDs in creation order (deleted slots become None, compacted when half empty); `position` maps an
    ID to its slot, so a cursor is found without scanning.
    """

    def __init__(self, kind: str, owner: Account | None = None):
        self.kind = kind
        self.owner = owner
        self.objects: dict[str, dict] = {}
        self.order: list[str | None] = []
        self.position: dict[str, int] = {}

    def _journal(self) -> Journal | None:
        return self.owner.journal if self.owner is not None else None

    def __len__(self) -> int:
        return len(self.objects)

    def __contains__(self, object_id: str) -> bool:
        return object_id in self.objects

    def add(self, obj: dict) -> dict:
        journal = self._journal()
        if journal is not None:
            journal.undo.append(lambda: self._unadd(obj["id"]))
        self.objects[obj["id"]] = obj
        self.position[obj["id"]] = len(self.order)
        self.order.append(obj["id"])
        return obj

    def _unadd(self, object_id: str) -> None:
        self.objects.pop(object_id, None)
        slot = self.position.pop(object_id, None)
        if slot is not None and slot == len(self.order) - 1:
            self.order.pop()
        elif slot is not None:
            self.order[slot] = None

    def get(self, object_id: str) -> dict | None:
        obj = self.objects.get(object_id)
        journal = self._journal()
        if obj is not None and journal is not None:
            journal.seen(obj)
        return obj

    def peek(self, object_id: str) -> dict | None:
        """The object, for reading only (not journaled: never change what this returns)."""
        return self.objects.get(object_id)

    def remove(self, object_id: str) -> dict | None:
        obj = self.objects.pop(object_id, None)
        if obj is None:
            return None
        journal = self._journal()
        if journal is not None:
            # Undo puts the object back at its old place in the order; no compaction meanwhile (slots must hold).
            slot = self.position.pop(object_id)
            self.order[slot] = None
            journal.seen(obj)
            journal.undo.append(lambda: self._unremove(obj, slot))
            return obj
        self.order[self.position.pop(object_id)] = None
        if len(self.order) > 64 and len(self.objects) * 2 < len(self.order):
            self._compact()
        return obj

    def _unremove(self, obj: dict, slot: int) -> None:
        self.objects[obj["id"]] = obj
        self.order[slot] = obj["id"]
        self.position[obj["id"]] = slot

    def _compact(self) -> None:
        self.order = [i for i in self.order if i is not None]
        self.position = {object_id: n for n, object_id in enumerate(self.order)}

    def newest_first(self, before: int | None = None) -> Iterator[dict]:
        """Objects from newest to oldest, starting just below slot `before` (exclusive) when given."""
        journal = self._journal()
        start = len(self.order) - 1 if before is None else before - 1
        for n in range(start, -1, -1):
            object_id = self.order[n]
            if object_id is not None:
                obj = self.objects[object_id]
                yield obj if journal is None else journal.seen(obj)

    def oldest_first(self, after: int) -> Iterator[dict]:
        """Objects from slot `after` (exclusive) towards the newest."""
        journal = self._journal()
        for n in range(after + 1, len(self.order)):
            object_id = self.order[n]
            if object_id is not None:
                obj = self.objects[object_id]
                yield obj if journal is None else journal.seen(obj)

    def scan(self) -> Iterator[dict]:
        """Objects from newest to oldest, for reading only (not journaled: `get` the ones a handler changes)."""
        for n in range(len(self.order) - 1, -1, -1):
            object_id = self.order[n]
            if object_id is not None:
                yield self.objects[object_id]


@dataclass
class Account:
    """Everything one API key owns."""

    key: str
    collections: dict[str, Collection] = field(default_factory=dict)
    idempotency: Replays = field(default_factory=Replays)
    counters: dict[str, int] = field(default_factory=dict)
    livemode: bool = False
    journal: Journal | None = field(default=None, repr=False)

    def collection(self, kind: str) -> Collection:
        coll = self.collections.get(kind)
        if coll is None:
            coll = self.collections[kind] = Collection(kind, self)
        return coll

    def drop_collection(self, kind: str) -> None:
        """Forget a whole collection (e.g. the lines of a deleted invoice)."""
        coll = self.collections.pop(kind, None)
        if coll is not None and self.journal is not None:
            self.journal.undo.append(lambda: self.collections.__setitem__(kind, coll))

    def next_number(self, series: str) -> int:
        """1, 2, 3, ... per series (invoice numbers); a rolled-back request gives its number back."""
        current = self.counters.get(series, 0)
        if self.journal is not None:
            self.journal.undo.append(lambda: self.counters.__setitem__(series, current))
        self.counters[series] = current + 1
        return current + 1

    @contextmanager
    def transaction(self) -> Iterator[Journal]:
        """Run a request's changes so that they apply whole or not at all: any exception undoes them all."""
        if self.journal is not None:  # nested: the outer transaction decides
            yield self.journal
            return
        journal = self.journal = Journal()
        try:
            yield journal
        except BaseException:
            journal.rollback()
            raise
        finally:
            self.journal = None

    def find(self, object_id: str) -> dict | None:
        """Any object of this account by ID (for expansion)."""
        for coll in self.collections.values():
            obj = coll.get(object_id)
            if obj is not None:
                return obj
        return None

    def require(self, kind: str, object_id: Any, label: str, param: str | None = None) -> dict:
        """The object or a 404 `resource_missing` that never reveals other accounts' objects."""
        obj = self.collection(kind).get(object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise no_such(label, object_id, param=param, status=404)
        return obj


class Store:
    """All accounts, created on first use of a key."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.lock = threading.RLock()

    def account(self, key: str) -> Account:
        acct = self.accounts.get(key)
        if acct is None:
            with self.lock:
                acct = self.accounts.setdefault(key, Account(key=key, livemode=key.startswith(("sk_live_",
                                                                                                  "rk_live_"))))
        return acct

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()

