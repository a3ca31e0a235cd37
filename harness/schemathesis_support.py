"""Schemathesis, taught this API: Stripe's form encoding and our API-specific checks.

Importing this module registers both globally (Schemathesis keeps one registry per process):
- a serializer for `application/x-www-form-urlencoded` that writes exact bracket notation through our codec
  (Schemathesis alone sends arrays as repeated keys and flattens arrays of objects);
- checks: Stripe's error shape (`type`, `message`, and `param` for parameter errors), `Request-Id` on every answer,
  `livemode: false` for test keys, and the list envelope. They are per-response checks, so they work under xdist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import schemathesis

from contracts.loader import load_contract
from wire.codec import FormError, encode_body

FORM = "application/x-www-form-urlencoded"


def load_schema() -> schemathesis.BaseSchema:
    """Our contract as a Schemathesis schema, built from the document the harness has already parsed (a copy:
    Schemathesis's own YAML parse of the 570 KB file, `schemathesis.openapi.from_path`, costs each xdist worker
    half a CPU second at start-up)."""
    return schemathesis.openapi.from_dict(orjson.loads(orjson.dumps(load_contract().doc)))


def stripe_form(value: Any) -> bytes:
    """A generated body in Stripe's bracket encoding; anything the codec can't express goes out as plain pairs
    (negative tests generate such bodies on purpose: the server must answer them with a 400)."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, dict):
        try:
            return encode_body(value)
        except FormError:
            return urlencode([(str(k), str(v)) for k, v in value.items()]).encode()
    return urlencode([("value", str(value))]).encode()


@schemathesis.serializer(FORM)
def _stripe_form_serializer(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    return stripe_form(value)


def _body(response: schemathesis.Response) -> Any:
    try:
        return response.json()
    except Exception:  # not JSON: other checks report the content type
        return None


@schemathesis.check
def stripe_error_shape(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                       case: schemathesis.Case) -> bool | None:
    """4xx/5xx answers are `{"error": {type, message, ...}}`, and parameter errors name the `param`."""
    if response.status_code < 400:
        return None
    body = _body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not error.get("type") or not error.get("message"):
        raise AssertionError(f"Contract violation: error answer without Stripe's error.type/message\n{body!r:.300}")
    code = error.get("code") or ""
    if response.status_code == 400 and code.startswith("parameter_") and not error.get("param"):
        raise AssertionError(f"Contract violation: a parameter error does not name the param\n{error}")
    return True


@schemathesis.check
def request_id_header(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                      case: schemathesis.Case) -> bool | None:
    """Every answer carries a Request-Id header."""
    if not response.headers.get("request-id") and not response.headers.get("Request-Id"):
        raise AssertionError("Contract violation: the answer has no Request-Id header")
    return True


@schemathesis.check
def livemode_false_for_test_keys(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                                 case: schemathesis.Case) -> bool | None:
    """Test-mode keys only ever see livemode=false objects."""
    if not 200 <= response.status_code < 300:
        return None
    stack = [_body(response)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("livemode") not in (None, False):
                raise AssertionError("Contract violation: livemode is not false for a test key\n"
                                     f"{value.get('livemode')!r}")
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


@schemathesis.check
def list_envelope(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                  case: schemathesis.Case) -> bool | None:
    """Lists are `{object: list|search_result, data, has_more, url}` and hold at most `limit` items."""
    body = _body(response)
    if not 200 <= response.status_code < 300 or not isinstance(body, dict):
        return None
    if body.get("object") not in ("list", "search_result"):
        return None
    if not isinstance(body.get("data"), list) or not isinstance(body.get("has_more"), bool):
        raise AssertionError(f"Contract violation: malformed list envelope\n{list(body)}")
    limit = (case.query or {}).get("limit")
    if isinstance(limit, int) and 1 <= limit <= 100 and len(body["data"]) > limit:
        raise AssertionError(f"Contract violation: a list holds more items than limit\nlimit={limit}, "
                             f"{len(body['data'])} items returned")
    return True


API_CHECKS = [stripe_error_shape, request_id_header, livemode_false_for_test_keys, list_envelope]

# Failures the suites' own checks (harness/checks.py) judge on the same answer, with their own signatures, so a
# defect seen by both is one finding: server errors, content types, response schema, malformed JSON, and our
# custom checks of Request-Id, livemode and the error envelope's type/message.
_JUDGED_BY_OURS = {"ST101", "ST102", "ST104", "ST105", "ST106", "ST108", "ST109", "ST110"}
_OURS_CUSTOM = ("Request-Id header", "livemode is not false", "error.type/message")


def _failures(exc: BaseException) -> list[Any]:
    if isinstance(exc, BaseExceptionGroup):
        return [f for sub in exc.exceptions for f in _failures(sub)]
    return [exc]


def findings_from(exc: BaseException, operation: str, resp: Any) -> list[Any]:
    """Schemathesis's failures on one answer as `harness.findings.Finding`s, minus the ones our checks judge.

    Categories come from the failure's type: a server error is never here (ours records it), everything else
    Schemathesis checks compares the answer with the contract. Signatures name the failure kind and what is
    stable about it (the status, the header), never the generated values. Like every contract finding of the
    harness (`harness.checks.ACROSS_OPERATIONS`), one is keyed without the operation and lists the operations it
    was seen on: "schema-violating request accepted, 200" on six lists is one defect, not six. An undocumented
    2xx is the same finding as ours ("the success status is the documented one").
    """
    from harness.checks import keyed_operation
    from harness.findings import Category, Finding, stable

    where = keyed_operation(Category.CONTRACT, operation)  # every finding here is a contract finding
    out = []
    for failure in _failures(exc):
        code = getattr(failure, "code", "")
        message = str(getattr(failure, "message", "") or failure)
        if code in _JUDGED_BY_OURS or (code == "ST901" and any(k in message for k in _OURS_CUSTOM)):
            continue
        status = getattr(failure, "status_code", None)
        title = str(getattr(failure, "title", "") or type(failure).__name__)
        raw = [resp.exchange] if resp is not None else []
        if code == "ST103" and isinstance(status, int) and 200 <= status < 300:
            documented = sorted(str(s) for s in getattr(failure, "defined_status_codes", []) if str(s)[:1] == "2")
            out.append(Finding(Category.CONTRACT, "the success status is the documented one", where,
                               f"{status} instead of {'/'.join(documented)}", stable(message[:500]),
                               operations=[operation], raw=raw, predicate={"check": "succeeds", "kwargs": {}}))
            continue
        if code == "ST901" and "does not name the param" in message:  # the same as harness/checks.py's
            out.append(Finding(Category.CONTRACT, "errors name the offending parameter", where,
                               "error.param missing", stable(message[:500]), operations=[operation], raw=raw))
            continue
        if code == "ST901":  # our custom checks: "Contract violation: <property>\n<values>"
            title = message.split("\n", 1)[0].split(": ", 1)[-1]
            signature = "custom check"
        elif code == "ST107":
            signature = "missing " + ", ".join(sorted(getattr(failure, "missing_headers", []) or []))
        elif status is not None:
            signature = f"{code} status {status}"
        else:
            signature = code or type(failure).__name__
        out.append(Finding(Category.CONTRACT, f"{title} (Schemathesis)", where, signature,
                           stable(message[:1000]), operations=[operation], raw=raw))
    return out


def coverage_cases(operation: schemathesis.APIOperation) -> Iterator[schemathesis.Case]:
    """Schemathesis's coverage-phase cases for one operation (boundary values of every parameter, positive and
    negative, plus content-type probes), built when called instead of at collection.

    `@schema.parametrize()` builds these cases for all 50 operations while pytest collects, in every xdist worker:
    ~4 CPU s per worker at the ci profile, two thirds of a worker's start-up, paid again by each worker a run adds
    for a distant target. Built here, each operation's cases cost only the worker that runs them.

    It uses the same generator, configuration and overrides as Schemathesis's pytest plugin for a schema loaded
    from a document, as `load_schema` does (no auth providers, no hooks, no application constants). Those are
    Schemathesis internals, hence the pin to one minor version in pyproject.toml; tests/test_schemathesis_support.py
    checks that the cases are the ones Schemathesis attaches itself, so an upgrade that changes them fails there,
    not silently.
    """
    from schemathesis.generation import overrides
    from schemathesis.generation.drivers import CoverageGenerator
    from schemathesis.generation.feedback import FeedbackSources

    config = operation.schema.config
    generation = config.generation_for(operation=operation, phase="coverage")
    yield from CoverageGenerator(operation=operation, generation_modes=generation.modes,
                                 generation_config=generation, auth_storage=None,
                                 override=overrides.with_config_headers(config, operation=operation),
                                 feedback=FeedbackSources())


def planned_case(case: schemathesis.Case) -> Any:
    """A Schemathesis case as the harness client's `PlannedRequest`: Stripe's bracket encoding for the body and
    query, the case's headers but never its Authorization (the client sends the target's key)."""
    from harness.client import FORM_CONTENT_TYPE, PlannedRequest

    headers = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    path = case.formatted_path
    if case.query:
        path = f"{path}?{stripe_form(case.query).decode()}"
    if case.method.upper() != "POST":
        return PlannedRequest(case.method, path, headers=headers)
    body = stripe_form(case.body) if case.body is not None else b""
    return PlannedRequest("POST", path, headers=headers, raw_body=body,
                          content_type=case.media_type or FORM_CONTENT_TYPE)


def send_case(api: Any, case: schemathesis.Case) -> Any:
    """Send a Schemathesis case through the harness client (retries, redaction, Allure steps, coverage)."""
    return api.request_planned(planned_case(case))


def send_cases(api: Any, cases: list[schemathesis.Case]) -> list[Any]:
    """Send cases that do not depend on each other (coverage-phase probes) as one batch of the harness client
    (`ApiClient.request_all`: up to its `concurrency` in flight, everything else in order); answers in order."""
    return api.request_all([planned_case(case) for case in cases])
