"""In-memory state, per account (API key): collections of objects with an ordered index for pagination.

Handlers run on the event loop thread and never await while they mutate state, so every request is applied
atomically with respect to the others; the lock below only guards callers on other threads (tests, helpers).
"""

from __future__ import annotations

import itertools
import secrets
import string
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mockserver.errors import no_such

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


class Collection:
    """Objects of one kind, newest first, with O(1) cursor lookup.

    `order` keeps IDs in creation order (deleted slots become None, compacted when half empty); `position` maps an
    ID to its slot, so a cursor is found without scanning.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.objects: dict[str, dict] = {}
        self.order: list[str | None] = []
        self.position: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.objects)

    def __contains__(self, object_id: str) -> bool:
        return object_id in self.objects

    def add(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        self.position[obj["id"]] = len(self.order)
        self.order.append(obj["id"])
        return obj

    def get(self, object_id: str) -> dict | None:
        return self.objects.get(object_id)

    def remove(self, object_id: str) -> dict | None:
        obj = self.objects.pop(object_id, None)
        if obj is None:
            return None
        self.order[self.position.pop(object_id)] = None
        if len(self.order) > 64 and len(self.objects) * 2 < len(self.order):
            self._compact()
        return obj

    def _compact(self) -> None:
        self.order = [i for i in self.order if i is not None]
        self.position = {object_id: n for n, object_id in enumerate(self.order)}

    def newest_first(self, before: int | None = None) -> Iterator[dict]:
        """Objects from newest to oldest, starting just below slot `before` (exclusive) when given."""
        start = len(self.order) - 1 if before is None else before - 1
        for n in range(start, -1, -1):
            object_id = self.order[n]
            if object_id is not None:
                yield self.objects[object_id]

    def oldest_first(self, after: int) -> Iterator[dict]:
        """Objects from slot `after` (exclusive) towards the newest."""
        for n in range(after + 1, len(self.order)):
            object_id = self.order[n]
            if object_id is not None:
                yield self.objects[object_id]


@dataclass
class Account:
    """Everything one API key owns."""

    key: str
    collections: dict[str, Collection] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, int, bytes, dict[str, str]]] = field(default_factory=dict)
    counters: dict[str, itertools.count] = field(default_factory=dict)
    livemode: bool = False

    def collection(self, kind: str) -> Collection:
        if kind not in self.collections:
            self.collections[kind] = Collection(kind)
        return self.collections[kind]

    def next_number(self, series: str) -> int:
        if series not in self.counters:
            self.counters[series] = itertools.count(1)
        return next(self.counters[series])

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

