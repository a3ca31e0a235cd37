"""Render recorded HTTP exchanges as Allure steps.

Plug ``record_exchange`` into ``ApiClient(on_exchange=...)`` so every attempt (retries included) shows up
in the report with its request, response and a curl line — all scrubbed of API keys.
"""

from __future__ import annotations

import json
from typing import Any

import allure

from harness.client import Exchange
from harness.redaction import scrub, scrub_obj


def _dump(value: Any) -> str:
    """Pretty JSON, then scrubbed as text too: the final string is what lands on disk."""
    return scrub(json.dumps(scrub_obj(value), indent=2, ensure_ascii=False, default=str))


def step_title(ex: Exchange) -> str:
    """``POST /v1/invoices → 200 (12 ms)``; retried and failed attempts say so up front."""
    outcome = "transport error" if ex.status is None else str(ex.status)
    if ex.retried:
        return f"{ex.method} {ex.path} \u2192 {outcome}, retrying (attempt {ex.attempt})"
    return f"{ex.method} {ex.path} \u2192 {outcome} ({ex.duration_ms:.0f} ms)"


def record_exchange(ex: Exchange) -> None:
    """Attach one exchange as an Allure step; a no-op when no Allure listener is active."""
    request = {
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
    with allure.step(scrub(step_title(ex))):
        allure.attach(_dump(request), name="request", attachment_type=allure.attachment_type.JSON)
        allure.attach(_dump(response), name="response", attachment_type=allure.attachment_type.JSON)
        allure.attach(scrub(ex.curl()), name="curl", attachment_type=allure.attachment_type.TEXT)
