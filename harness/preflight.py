"""Checks made before a run touches an external target: a usable URL, a reachable server, a test-mode key it accepts.

Each failure is a `PreflightError` whose message is one line saying what to change; the pytest plugin turns it
into a usage error and `python -m harness.doctor` prints it, so a typo never ends in a traceback.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from harness.redaction import scrub

TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")
ACCOUNT_PATTERN = re.compile(r"^acct_[A-Za-z0-9]{1,100}$")
# One of the 50 operations, read-only and cheap: any Stripe-like server answers it for a valid key.
PROBE_PATH = "/v1/invoices"
USER_AGENT = "stripe-contract-harness preflight"


class PreflightError(Exception):
    """The run cannot usefully start; the message (one line) says what to do."""


def check_base_url(url: str) -> str:
    """The URL without a trailing slash, if it is an absolute http(s) URL with a host; PreflightError otherwise."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise PreflightError(f"--base-url {url!r} is not a usable URL; give one like https://staging.example.com "
                             "(scheme and host, no path needed)")
    if parts.query or parts.fragment:
        raise PreflightError(f"--base-url {url!r} has a query or fragment; give only scheme, host and port")
    return url.rstrip("/")


def key_mode(key: str) -> str:
    """"test", "live" or "unknown" from the key's prefix (Stripe's keys start sk_/rk_ then test_/live_)."""
    if key.startswith(TEST_KEY_PREFIXES):
        return "test"
    if key.startswith(LIVE_KEY_PREFIXES):
        return "live"
    return "unknown"


def check_key(key: str | None, option: str, allow_live: bool) -> str:
    """The key if the harness may use it; PreflightError for a missing key or a live key without --allow-live."""
    if not key:
        raise PreflightError(f"{option} is needed with --base-url (or set its environment variable)")
    if key_mode(key) == "live" and not allow_live:
        raise PreflightError(f"{option} looks like a live-mode key; the harness creates, pays and voids objects. "
                             "Use a test-mode key, or pass --allow-live if you really mean it")
    return key


def check_account(account: str | None) -> str | None:
    """The connected account ID if well-formed (acct_...), None when absent; PreflightError otherwise."""
    if account in (None, ""):
        return None
    if not ACCOUNT_PATTERN.match(account):
        raise PreflightError(f"--stripe-account {account!r} is not an account ID; it looks like acct_1A2b3C...")
    return account


@dataclass(frozen=True)
class Reachability:
    """The answer to one authenticated probe: status, round-trip time (seconds) and the server's message."""

    status: int
    seconds: float
    message: str


def probe(base_url: str, key: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> Reachability:
    """GET one list endpoint with the key; PreflightError when no HTTP answer arrives or the key is refused."""
    send = {"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT, **(headers or {})}
    started = time.perf_counter()
    try:
        resp = requests.get(f"{base_url}{PROBE_PATH}", params={"limit": 1}, headers=send, timeout=timeout,
                            allow_redirects=False)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise PreflightError(f"cannot reach {base_url} ({reason}); check --base-url and that the server is up") \
            from None
    seconds = time.perf_counter() - started
    message = _error_message(resp)
    if resp.status_code == 401:
        raise PreflightError(f"{base_url} refused the API key (401: {message or 'unauthorized'}); check --api-key")
    if resp.status_code == 403:
        raise PreflightError(f"{base_url} refused access (403: {message or 'forbidden'}); check --api-key and "
                             "--stripe-account")
    return Reachability(resp.status_code, seconds, message)


def round_trip(base_url: str, key: str | None, samples: int = 3, timeout: float = 5.0) -> float | None:
    """Seconds a request to the target takes on a kept-alive connection: the median of `samples` GETs of one list
    endpoint, after a first that opens the connection. None when no answer came (the run's own preflight then
    says what is wrong). Any HTTP answer counts, a 401 included: only its timing is used."""
    headers = {"User-Agent": USER_AGENT}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    times: list[float] = []
    try:
        with requests.Session() as session:
            for _ in range(samples + 1):
                started = time.perf_counter()
                session.get(f"{base_url.rstrip('/')}{PROBE_PATH}", params={"limit": 1}, headers=headers,
                            timeout=timeout, allow_redirects=False)
                times.append(time.perf_counter() - started)
    except requests.RequestException:
        return None
    return statistics.median(times[1:])


def _error_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return scrub(str(message))[:200] if message else ""
