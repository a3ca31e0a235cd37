"""Checks on single responses, one function per property, named after what it verifies.

Each failure message starts with its category (the Allure categories match on it), names the operation and
the property, and carries the exchange: request (redacted), response, and a curl line to reproduce it.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import allure

from contracts.loader import Operation
from harness.client import Response

CONTRACT = "Contract violation"
INVARIANT = "Invariant violation"
SERVER_ERROR = "Server error (5xx)"
HARNESS = "Harness error"

SEVERITY = {"security": allure.severity_level.CRITICAL, "server": allure.severity_level.CRITICAL}


def fail(category: str, op: Operation | str, prop: str, detail: str, resp: Response | None = None) -> NoReturn:
    label = op.label if isinstance(op, Operation) else op
    text = f"{category}: {label}: {prop}\n{detail}"
    if resp is not None:
        text += f"\n\n{resp.describe()}"
    raise AssertionError(text)


def label_test(op: Operation | None, story: str, *, severity: str = "normal", title: str | None = None) -> None:
    """Allure labels: epic = resource family, feature = operation, story = property checked."""
    if op is not None:
        allure.dynamic.epic(op.tag)
        allure.dynamic.feature(op.label)
    allure.dynamic.story(story)
    allure.dynamic.severity(getattr(allure.severity_level, severity.upper()))
    if title:
        allure.dynamic.title(title)


# -- properties of every response ----------------------------------------------------------------------------


def no_server_error(op: Operation, resp: Response) -> None:
    if resp.status >= 500:
        fail(SERVER_ERROR, op, "a client request must never cause a 5xx",
             f"got {resp.status}; a 5xx answers a bug in the server, not a client's mistake", resp)


def is_json_with_request_id(op: Operation, resp: Response) -> None:
    ctype = resp.headers.get("content-type", "")
    if not ctype.startswith("application/json"):
        fail(CONTRACT, op, "responses are JSON", f"Content-Type is {ctype!r}", resp)
    if not resp.request_id:
        fail(CONTRACT, op, "every response has a Request-Id header", "no Request-Id header", resp)


def conforms_to_contract(op: Operation, resp: Response) -> None:
    """The body validates against the contract's schema for its status (the 200 schema, or the error schema)."""
    if not isinstance(resp.body, dict):
        fail(CONTRACT, op, "the body is a JSON object", f"got {type(resp.body).__name__}", resp)
    errors = op.response_errors(resp.status, resp.body)
    if errors:
        which = "200 schema" if resp.status < 300 else "error schema"
        fail(CONTRACT, op, f"the body matches the contract's {which}", "\n".join(errors), resp)


def livemode_is_false(op: Operation, resp: Response) -> None:
    """Test keys must only ever see test-mode objects."""
    bad = [path for path, value in _walk(resp.body) if path.endswith("livemode") and value is not False]
    if bad:
        fail(CONTRACT, op, "objects are livemode=false for test keys", f"livemode is not false at {bad[:5]}", resp)


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((f"{path}.{k}" if path else k, v))
            out += _walk(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for n, v in enumerate(value):
            out += _walk(v, f"{path}[{n}]")
    return out


EPOCH_FLOOR = 1_262_304_000  # 2010-01-01: no Stripe object is older
TIMESTAMP_FIELDS = ("created", "date", "transacted_at", "finalized_at", "paid_at", "voided_at")


def timestamps_are_unix_seconds(op: Operation, resp: Response) -> None:
    """`created` and other times are Unix seconds: not milliseconds, not in the far future."""
    ceiling = int(time.time()) + 86_400
    for path, value in _walk(resp.body):
        if path.rsplit(".", 1)[-1] in TIMESTAMP_FIELDS and isinstance(value, int) and value != 0 \
                and not EPOCH_FLOOR <= value <= ceiling:
            fail(CONTRACT, op, "times are Unix seconds", f"{path} = {value} is not a plausible Unix time in seconds",
                 resp)


def well_formed(op: Operation, resp: Response) -> None:
    """Everything every answer must satisfy, whatever its status."""
    no_server_error(op, resp)
    is_json_with_request_id(op, resp)
    conforms_to_contract(op, resp)


def succeeds(op: Operation, resp: Response, what: str = "a valid request succeeds") -> dict:
    well_formed(op, resp)
    if not 200 <= resp.status < 300:
        fail(CONTRACT, op, what, f"expected 2xx, got {resp.status}", resp)
    if str(resp.status) not in op.responses:
        fail(CONTRACT, op, "the success status is the documented one",
             f"got {resp.status}; the contract documents {sorted(s for s in op.responses if s.startswith('2'))}", resp)
    livemode_is_false(op, resp)
    timestamps_are_unix_seconds(op, resp)
    return resp.body


def is_stripe_error(op: Operation, resp: Response, *, status: int | tuple[int, ...] = 400,
                    error_type: str | None = "invalid_request_error", param: str | None = None,
                    code: str | None = None, what: str = "an invalid request is rejected") -> dict:
    """A Stripe-shaped error with the expected status, type, and (when given) param and code."""
    well_formed(op, resp)
    statuses = (status,) if isinstance(status, int) else status
    if resp.status not in statuses:
        fail(CONTRACT, op, what, f"expected {' or '.join(map(str, statuses))}, got {resp.status}", resp)
    error = resp.body.get("error", {})
    if error_type and error.get("type") != error_type:
        fail(CONTRACT, op, what, f"error.type should be {error_type!r}, got {error.get('type')!r}", resp)
    if param is not None and error.get("param") != param:
        fail(CONTRACT, op, f"{what}, naming the offending parameter",
             f"error.param should be {param!r}, got {error.get('param')!r}", resp)
    if code is not None and error.get("code") != code:
        fail(CONTRACT, op, what, f"error.code should be {code!r}, got {error.get('code')!r}", resp)
    return error
