"""Idempotent requests: the `Idempotency-Key` header's validation, the per-account store of saved results, and
the rules for replaying them.

Stripe's rules (https://docs.stripe.com/api/idempotent_requests):
- keys apply to POST requests and "can be up to 255 characters long";
- a request refused before its endpoint began executing (routing, authentication, validation) saves nothing;
  once the endpoint has run, its first result, whatever its status (500s included), is saved and replayed for the
  same key, with the header `Idempotent-Replayed: true`;
- the same key with other parameters is refused ("Keys for idempotent requests can only be used with the same
  parameters they were first used with"): a 400 `idempotency_error`;
- "if ... the request conflicted with another that was executing concurrently, no idempotent result is saved":
  a 429 is not saved, so a retry with the same key runs.
The mock keeps at most `KEYS_PER_ACCOUNT` keys per account (the oldest is forgotten first); Stripe prunes keys
after 24 hours.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import orjson

from mockserver.errors import ApiError
from mockserver.messages import Request, Response

KEY_MAX = 255  # Stripe: "Idempotency keys can be up to 255 characters long"
KEYS_PER_ACCOUNT = 10_000
HEADER = "idempotency-key"


class Saved(NamedTuple):
    """A result saved for a key: the request's `fingerprint`, the answer's status, JSON bytes and headers."""

    fingerprint: str
    status: int
    payload: bytes
    headers: dict[str, str]


class Replays:
    """One account's saved results by key, oldest first (insertion order), at most `KEYS_PER_ACCOUNT`."""

    def __init__(self) -> None:
        self.saved: dict[str, Saved] = {}

    def __len__(self) -> int:
        return len(self.saved)

    def get(self, key: str) -> Saved | None:
        return self.saved.get(key)

    def replay(self, key: str, fingerprint: str) -> Response | None:
        """The saved answer for `key` (marked as replayed), None when the key is new.

        :raises ApiError: 400 `idempotency_error` when the key was first used with another request.
        """
        saved = self.saved.get(key)
        if saved is None:
            return None
        if saved.fingerprint != fingerprint:
            raise ApiError(400, "Keys for idempotent requests can only be used with the same parameters they "
                                f"were first used with. Try using a key other than '{key}' if you meant to "
                                "execute a different request.", type="idempotency_error",
                           code="idempotency_key_in_use")
        return Response(saved.status, orjson.loads(saved.payload), {**saved.headers, "idempotent-replayed": "true"})

    def remember(self, key: str, fingerprint: str, resp: Response) -> None:
        """Save the first result of a request whose endpoint ran (a 429 is not saved)."""
        if resp.status == 429:
            return
        if len(self.saved) >= KEYS_PER_ACCOUNT:
            self.saved.pop(next(iter(self.saved)))
        payload = resp.body if isinstance(resp.body, bytes) else orjson.dumps(resp.body)
        self.saved[key] = Saved(fingerprint, resp.status, payload, dict(resp.headers))


def key_of(req: Request) -> str | None:
    """The request's Idempotency-Key when it has one that counts (POST only), else None."""
    return req.headers.get(HEADER) if req.method == "POST" else None


def check_key(req: Request) -> None:
    """Refuse a malformed key before anything runs.

    :raises ApiError: 400 `idempotency_key_invalid` for an empty key or one longer than `KEY_MAX` characters.
    """
    key = key_of(req)
    if key is not None and not 1 <= len(key) <= KEY_MAX:
        raise ApiError(400, f"Invalid Idempotency-Key: keys must be 1 to {KEY_MAX} characters long (this one has "
                            f"{len(key)}).", code="idempotency_key_invalid")


def fingerprint(req: Request) -> str:
    """What makes two requests "the same" for a key: method, path and validated parameters (a SHA-256 hex digest)."""
    canonical = orjson.dumps([req.method, req.path, req.params], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
