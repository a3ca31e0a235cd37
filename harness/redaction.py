"""Keep API keys out of reports, logs and attachments.

Reports are shared (CI artefacts, Allure sites), so every writer of recorded HTTP traffic scrubs its
output against a process-wide registry of the secrets in use rather than trusting each call site.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "(redacted)"
ELLIPSIS = "\u2026"

# Headers whose whole value is a credential.  ``Stripe-Account`` and ``Idempotency-Key`` are identifiers,
# not credentials, and stay readable because they are what a reader needs to reproduce a request.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

# Shorter strings are not credentials; scrubbing them would mangle every report for no benefit.
MIN_SECRET_LENGTH = 4

# A prefix segment longer than this is probably part of the secret itself, not a ``sk``/``test`` tag.
_MAX_PREFIX_SEGMENT = 10

_registry: set[str] = set()
# Precomputed (needle, replacement) pairs for the registry; swapped atomically under the lock.
_registry_pairs: list[tuple[str, str]] = []
_registry_lock = threading.Lock()


def redact_key(key: str) -> str:
    """Shorten a key to its type prefix (``sk_test_``) so readers still see which kind was used."""
    parts = key.split("_")
    kept: list[str] = []
    # Keep at most two leading segments ("sk", "test"), each one short and never the whole key.
    for segment in parts[:-1][:2]:
        if not segment or len(segment) > _MAX_PREFIX_SEGMENT or not segment.isalnum():
            break
        kept.append(segment)
    prefix = "".join(f"{segment}_" for segment in kept)
    return f"{prefix}{ELLIPSIS}{REDACTED}"


def _redact_authorization(value: str) -> str:
    """Keep the scheme (Bearer/Basic) because it matters when debugging auth failures."""
    scheme, sep, credentials = value.strip().partition(" ")
    if not sep:
        return redact_key(value) if value else value
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        return f"{scheme} {ELLIPSIS}{REDACTED}"
    return f"{scheme} {redact_key(credentials)}"


def redact_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Return a plain copy of ``headers`` with credential values redacted and known secrets scrubbed."""
    result: dict[str, str] = {}
    for name, value in (headers or {}).items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            result[name] = _redact_authorization(text)
        elif lowered in _CREDENTIAL_HEADERS:
            result[name] = f"{ELLIPSIS}{REDACTED}"
        else:
            result[name] = scrub(text)
    return result


def _variants(secret: str) -> list[tuple[str, str]]:
    """Forms a secret takes on the wire: plain, and HTTP Basic (``base64(key:)``) as curl -u sends it."""
    basic = base64.b64encode(f"{secret}:".encode()).decode("ascii")
    return [(secret, redact_key(secret)), (basic, f"{ELLIPSIS}{REDACTED}")]


def _replacement_pairs(secrets: Iterable[str]) -> list[tuple[str, str]]:
    """Needles to replace, longest first so a key that contains another key is redacted whole."""
    pairs: list[tuple[str, str]] = []
    for secret in set(secrets):
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            pairs.extend(_variants(secret))
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def _apply(text: str, pairs: list[tuple[str, str]]) -> str:
    for needle, replacement in pairs:
        if needle in text:
            text = text.replace(needle, replacement)
    return text


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of any of ``secrets`` (plain or Basic-encoded) in ``text``."""
    if not text:
        return text
    return _apply(text, _replacement_pairs(secrets))


def register_secret(secret: str | None) -> None:
    """Remember a secret process-wide so ``scrub`` hides it from every attachment writer."""
    global _registry_pairs
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    with _registry_lock:
        if secret not in _registry:
            _registry.add(secret)
            _registry_pairs = _replacement_pairs(_registry)


def registered_secrets() -> frozenset[str]:
    """Snapshot of the registry (a copy, so callers cannot mutate it without the lock)."""
    with _registry_lock:
        return frozenset(_registry)


def scrub(text: str) -> str:
    """Redact every registered secret from ``text``; the last line of defence before anything is written."""
    if not text:
        return text
    return _apply(text, _registry_pairs)


def scrub_obj(value: Any) -> Any:
    """Recursively scrub strings (including dict keys) inside JSON-like data, returning a new structure."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub_obj(k) if isinstance(k, str) else k: scrub_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_obj(item) for item in value]
    if isinstance(value, bytes):
        return scrub(value.decode("utf-8", errors="replace"))
    return value
