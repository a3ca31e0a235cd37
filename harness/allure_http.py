"""Render recorded HTTP exchanges in the Allure report.

Plug ``log_exchange`` into ``ApiClient(on_exchange=...)`` so every attempt (retries included) is recorded, all
scrubbed of API keys. Two modes:

* compact (the default): each exchange is one line (method, path, status, duration, Request-Id) of one text
  attachment per test (``attach_compact``, called by the harness plugin as a test ends; a test of thousands of
  requests shows the first and last of them there and attaches all of them gzip-compressed), and the last ``KEPT``
  exchanges of the running test are kept in memory, per thread: ``attach_kept`` (called when a test fails)
  attaches them in full, request, response and curl line each. A passing test costs one small file, so a green
  run's results stay small and render fast; the steps a test makes itself (a state machine's rules) stay steps.
* full (``HARNESS_FULL_EXCHANGES=1``): every exchange is a step with its request, response and curl attachments
  (``record_exchange``), for a run where every passing exchange must be kept in full. An exchange sent from a
  test's extra thread becomes its step once that thread is done (`harness.thread_steps`).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import allure

from harness import thread_steps
from harness.client import Exchange
from harness.redaction import scrub, scrub_obj


def _dump(value: Any) -> str:
    """Pretty JSON, then scrubbed as text too: the final string is what lands on disk."""
    return scrub(json.dumps(scrub_obj(value), indent=2, ensure_ascii=False, default=str))


KEPT = 60
"""Exchanges of the running test kept for its failure report (Hypothesis replays the failing example last)."""
FULL_ENV = "HARNESS_FULL_EXCHANGES"

_kept: dict[int, deque[Exchange]] = {}  # thread ident -> that thread's last exchanges of the running test
_compact: list[str] = []


def _kept_here() -> deque[Exchange]:
    return _kept.setdefault(threading.get_ident(), deque(maxlen=KEPT))


def step_title(ex: Exchange) -> str:
    """``POST /v1/invoices → 200 (12 ms)``; retried and failed attempts say so up front."""
    outcome = "transport error" if ex.status is None else str(ex.status)
    if ex.retried:
        return f"{ex.method} {ex.path} \u2192 {outcome}, retrying (attempt {ex.attempt})"
    return f"{ex.method} {ex.path} \u2192 {outcome} ({ex.duration_ms:.0f} ms)"


def full_mode() -> bool:
    """Whether every exchange is attached in full (HARNESS_FULL_EXCHANGES=1), not only a failing test's."""
    return os.environ.get(FULL_ENV) == "1"


COMPACT_PATH = 160
"""Characters of a path a compact line keeps (generated paths can be thousands of characters long)."""


def compact_line(ex: Exchange) -> str:
    """``POST /v1/invoices → 200 (12 ms) req_123``: what a passing test keeps of an exchange."""
    request_id = next((v for k, v in ex.response_headers.items() if k.lower() == "request-id"), None)
    title = step_title(ex)
    if len(ex.path) > COMPACT_PATH:
        title = title.replace(ex.path, f"{ex.path[:COMPACT_PATH]}\u2026 ({len(ex.path)} characters)", 1)
    return scrub(title + (f" {request_id}" if request_id else ""))


_outside_tests = False


@contextlib.contextmanager
def outside_tests() -> Iterator[None]:
    """Exchanges that belong to no test (a worker's clean-up in its session teardown) are not reported: Allure
    shows a session fixture's teardown in every test that used the fixture, so in full mode each test's page
    would repeat the whole clean-up."""
    global _outside_tests
    _outside_tests = True
    try:
        yield
    finally:
        _outside_tests = False


def log_exchange(ex: Exchange) -> None:
    """The client hook: a compact line, the exchange kept for a failure report (or everything, in full mode)."""
    if _outside_tests:
        return
    if full_mode():
        thread_steps.later(lambda: record_exchange(ex))  # in its place among the steps of the thread that sent it
        return
    _kept_here().append(ex)
    _compact.append(compact_line(ex))


def forget_kept() -> None:
    """A new test starts: its report shows its own exchanges only."""
    _kept.clear()
    _compact.clear()


def adopt_kept(thread_id: int) -> None:
    """The running test failed in another of its threads (`threading.get_ident` `thread_id`): `attach_kept`, called
    in the test's thread, attaches that thread's last exchanges, the ones that led to the failure."""
    _kept[threading.get_ident()] = _kept.pop(thread_id, deque(maxlen=KEPT))


COMPACT_SHOWN = 200
"""Exchange lines a test's text attachment shows; past that, the first and last half of them, and every line in
one gzip attachment (a state machine's run sends thousands of requests)."""


def attach_compact() -> int:
    """Attach the running test's exchanges as one text attachment, a line each (and, past `COMPACT_SHOWN` lines,
    all of them gzip-compressed: ``exchanges.txt.gz``); returns how many."""
    count = len(_compact)
    if not count:
        return 0
    name = f"exchanges ({count}: method, path, status, duration, Request-Id)"
    text = "\n".join(_compact)
    if count > COMPACT_SHOWN:
        half = COMPACT_SHOWN // 2
        shown = [*_compact[:half], f"\u2026 {count - 2 * half} more: every line is in exchanges.txt.gz",
                 *_compact[-half:]]
        allure.attach("\n".join(shown), name=name, attachment_type=allure.attachment_type.TEXT)
        allure.attach(gzip.compress(text.encode("utf-8"), mtime=0), name="exchanges.txt.gz",
                      attachment_type="application/gzip", extension="txt.gz")
    else:
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
    _compact.clear()
    return count


def attach_kept() -> int:
    """Attach the kept exchanges of a failing test in full (one JSON attachment, oldest first, and the last
    exchange's curl line); returns how many. Nothing happens in full mode, where they are attached already."""
    kept = _kept_here()
    if full_mode() or not kept:
        return 0
    exchanges = [_full(ex) for ex in kept]
    allure.attach(_dump(exchanges), name=f"last {len(exchanges)} exchanges (request, response, curl)",
                  attachment_type=allure.attachment_type.JSON)
    allure.attach(scrub(kept[-1].curl()), name="curl (last exchange)", attachment_type=allure.attachment_type.TEXT)
    count = len(kept)
    kept.clear()
    return count


def _full(ex: Exchange) -> dict[str, Any]:
    request, response = _parts(ex)
    return {"step": step_title(ex), "request": request, "response": response, "curl": ex.curl()}


def _parts(ex: Exchange) -> tuple[dict[str, Any], dict[str, Any]]:
    request: dict[str, Any] = {
        "method": ex.method,
        "url": ex.url,
        "headers": ex.request_headers,
        "params": ex.params,
        "idempotency_key": ex.idempotency_key,
        "attempt": ex.attempt,
    }
    if ex.raw_body:
        request["raw_body"] = ex.request_body
    response: dict[str, Any] = {
        "status": ex.status,
        "headers": ex.response_headers,
        "body": ex.body,
        "duration_ms": round(ex.duration_ms, 1),
    }
    if ex.error is not None:
        response["error"] = ex.error
    return request, response


def record_exchange(ex: Exchange) -> None:
    """Attach one exchange as an Allure step with its request, response and curl; a no-op without an Allure
    listener."""
    request, response = _parts(ex)
    with allure.step(scrub(step_title(ex))):
        allure.attach(_dump(request), name="request", attachment_type=allure.attachment_type.JSON)
        allure.attach(_dump(response), name="response", attachment_type=allure.attachment_type.JSON)
        allure.attach(scrub(ex.curl()), name="curl", attachment_type=allure.attachment_type.TEXT)
