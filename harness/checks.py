"""Checks on single responses, one function per property, named after what it verifies.

A violated check produces a typed `harness.findings.Finding` (category from the check, never from a message
prefix), carrying the operation, the property, a signature free of per-run values and the exchange (request
redacted, response, curl line with ``$HARNESS_API_KEY``):

- the property under test (`succeeds`' status, `is_stripe_error`'s status, invariants through `fail`) raises
  `CheckFailed` and the test stops there;
- what every answer must satisfy (JSON content type, ``Request-Id``, schema conformance, error envelope,
  ``livemode``, Unix-second timestamps) is recorded (`harness.findings.record`) and the test goes on; the plugin
  fails the test at its end and lists every finding it saw. Those are defects of the whole server
  (``operation == "*"``, where they were seen in ``operations``): one finding however many tests see them.

Checks that look at one answer are registered for `harness.replay`, which re-runs them on the replayed answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any, NoReturn

import allure

from contracts.loader import Operation
from harness.client import Response
from harness.findings import ANY_OPERATION, Category, CheckFailed, Finding, record, register_check
from harness.invariants import violations

CONTRACT = Category.CONTRACT
INVARIANT = Category.INVARIANT
SERVER_ERROR = Category.SERVER_ERROR
HARNESS = Category.HARNESS
_BY_TITLE = {c.heading: c for c in Category} | {"Server error (5xx)": Category.SERVER_ERROR}

SEVERITY = {"security": allure.severity_level.CRITICAL, "server": allure.severity_level.CRITICAL}


def _category(category: Category | str) -> Category:
    return category if isinstance(category, Category) else _BY_TITLE.get(category, Category.CONTRACT)


def _label(op: Operation | str) -> str:
    return op.label if isinstance(op, Operation) else op


ACROSS_OPERATIONS = (Category.CONTRACT, Category.INVARIANT)
"""Categories whose findings are keyed without the operation: the same property broken with the same signature on
several operations (``limit`` ignored by every list, an invoice field of the wrong type in every invoice answer, a
read-after-write lost by every update) is one defect of shared code, so one finding listing its operations. A 5xx
stays one finding per operation: its cause is not visible from outside, and two crashes are two stack traces."""


def keyed_operation(category: Category, label: str, server_wide: bool | None = None) -> str:
    """The operation a finding seen on `label` is keyed by: ``"*"`` (`ANY_OPERATION`) when it is server wide, which
    by default the `ACROSS_OPERATIONS` categories are; `label` otherwise."""
    if server_wide is None:
        server_wide = category in ACROSS_OPERATIONS
    return ANY_OPERATION if server_wide else label


def finding(category: Category | str, op: Operation | str, prop: str, detail: str, resp: Response | None = None,
            *, signature: str = "", server_wide: bool | None = None, predicate: dict | None = None) -> Finding:
    """A `Finding` for `op` (an `Operation` or its label) whose example is `resp`'s final attempt.

    :param server_wide: key the finding without the operation (its operation is ``"*"``; `op` goes to
        ``operations``). Default: by category (`ACROSS_OPERATIONS`).
    :param predicate: how `harness.replay` re-checks it: ``{"check": NAME, "kwargs": {...}}``.
    """
    label = _label(op)
    kind = _category(category)
    return Finding(kind, prop, keyed_operation(kind, label, server_wide), signature, detail,
                   operations=[label], predicate=predicate, raw=[resp.exchange] if resp is not None else [])


def fail(category: Category | str, op: Operation | str, prop: str, detail: str, resp: Response | None = None,
         *, signature: str = "", predicate: dict | None = None, server_wide: bool | None = None) -> NoReturn:
    """Raise `CheckFailed`: the property under test does not hold (the test stops here).

    The message starts with the category's title (``Contract violation: POST /v1/invoices: ...``), then the
    detail and the exchange with its curl line. `server_wide`: see `finding`.
    """
    found = finding(category, op, prop, detail, resp, signature=signature, predicate=predicate,
                    server_wide=server_wide)
    text = f"{found.category.heading}: {_label(op)}: {prop}\n{detail}"
    if resp is not None:
        text += f"\n\n{resp.describe()}"
    raise CheckFailed(found, text)


def note(category: Category | str, op: Operation | str, prop: str, detail: str, resp: Response, *,
         signature: str, predicate: dict | None = None) -> None:
    """Record a server-wide finding and go on (a cross-cutting property every answer must have)."""
    record(finding(category, op, prop, detail, resp, signature=signature, server_wide=True, predicate=predicate))


def harness_error(what: str, detail: str = "") -> NoReturn:
    """Raise for a bug in the harness itself (never a defect of the target): category HARNESS."""
    raise CheckFailed(Finding(Category.HARNESS, what, ANY_OPERATION, "", detail),
                      f"{Category.HARNESS.heading}: {what}\n{detail}")


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


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


def _predicate(check: str, **kwargs: Any) -> dict:
    return {"check": check, "kwargs": kwargs}


def no_server_error(op: Operation, resp: Response) -> None:
    """A client request never causes a 5xx (raises: nothing else about the answer can be trusted)."""
    if resp.status >= 500:
        fail(SERVER_ERROR, op, "a client request must never cause a 5xx",
             f"got {resp.status}; a 5xx answers a bug in the server, not a client's mistake", resp,
             signature=f"status {resp.status}", predicate=_predicate("no_server_error"))


def _media_type(resp: Response) -> str:
    return resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(op: Operation, resp: Response) -> bool:
    """Answers are ``application/json`` (recorded, server-wide). Returns whether this one is."""
    media = _media_type(resp)
    if media == "application/json":
        return True
    note(CONTRACT, op, "responses are JSON", f"Content-Type is {resp.headers.get('content-type', '')!r}", resp,
         signature=f"{_status_class(resp.status)} answered as {media or 'no Content-Type'}",
         predicate=_predicate("is_json"))
    return False


def has_request_id(op: Operation, resp: Response) -> None:
    """Every answer carries a ``Request-Id`` header (recorded, server-wide)."""
    if not resp.request_id:
        note(CONTRACT, op, "every response has a Request-Id header", "no Request-Id header", resp,
             signature="header missing", predicate=_predicate("has_request_id"))


def is_json_with_request_id(op: Operation, resp: Response) -> None:
    """`is_json` and `has_request_id`."""
    is_json(op, resp)
    has_request_id(op, resp)


_REQUIRED = re.compile(r"""^["']([^"']+)["'] is a required property""")
_TYPE = re.compile(r"is not of type (.+)$")


def _owner_path(body: Any, path: list) -> tuple[str, str]:
    """The type of the innermost Stripe object on `path` (its ``object`` field) and the path below it, indices
    folded: ``(["data", 3, "lines", "data", 0, "amount"]) -> ("line_item", "amount")``."""
    owner, rel, node = "", [], body
    if isinstance(body, dict) and isinstance(body.get("object"), str):
        owner = body["object"]
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        rel.append("[]" if isinstance(step, int) else f".{step}")
        if isinstance(node, dict) and isinstance(node.get("object"), str) and node["object"] not in (
                "list", "search_result"):
            owner, rel = node["object"], []
    return owner or "(body)", "".join(rel).lstrip(".")


def schema_signature(body: Any, error: Any) -> str:
    """A JSON-schema error (jsonschema_rs) as ``<object>.<field path>: <keyword>`` (``invoice.amount_due: type
    "integer"``, ``invoice: required currency``): the same for every object and operation that shows the defect,
    and free of the offending value."""
    owner, rel = _owner_path(body, list(error.instance_path))
    where = f"{owner}.{rel}" if rel else owner
    keyword = str(error.schema_path[-1]) if error.schema_path else "schema"
    if keyword == "required":
        match = _REQUIRED.match(error.message)
        return f"{where}: required {match.group(1) if match else ''}".rstrip()
    if keyword == "type":
        match = _TYPE.search(error.message)
        return f"{where}: type {match.group(1).strip() if match else ''}".rstrip()
    return f"{where}: {keyword}"


def _schema_status(op: Operation, status: int) -> int | str:
    """The response the body should match: an undocumented 2xx (201 for a 200) is checked as the documented 2xx,
    so a wrong status is one finding, not a cascade of error-schema mismatches."""
    if 200 <= status < 300 and str(status) not in op.responses:
        return next((s for s in op.responses if s.startswith("2")), status)
    return status


def conforms_to_contract(op: Operation, resp: Response, limit: int = 10) -> None:
    """The body validates against the contract's schema for its status (recorded, server-wide; one finding per
    distinct `schema_signature`)."""
    if not isinstance(resp.body, dict):
        if _media_type(resp) == "application/json":  # a non-JSON answer is already the content-type finding
            note(CONTRACT, op, "the body is a JSON object", f"got {type(resp.body).__name__}", resp,
                 signature=f"{_status_class(resp.status)} body is {type(resp.body).__name__}",
                 predicate=_predicate("conforms_to_contract"))
        return
    status = _schema_status(op, resp.status)
    which = "200 schema" if resp.status < 300 else "error schema"
    # Fields missing from one object are one defect (a stub, an object stored as sent): one finding that lists them.
    found: dict[str, tuple[str, list[str]]] = {}
    for error in op.validator(status).iter_errors(resp.body):
        signature = schema_signature(resp.body, error)
        where = "/".join(str(p) for p in error.instance_path) or "(root)"
        head, sep, missing = signature.partition(": required ")
        key = f"{head}: required" if sep else signature
        if key in found:
            if sep and missing not in found[key][1]:
                found[key][1].append(missing)
            continue
        if len(found) >= limit:
            break
        found[key] = (f"at {where}: {error.message[:300]}", [missing] if sep else [])
    for key, (detail, missing) in found.items():
        signature = f"{key} {', '.join(sorted(missing))}" if missing else key
        if len(missing) > 1:
            detail += f" (and {len(missing) - 1} more missing here: {', '.join(sorted(missing))})"
        note(CONTRACT, op, f"the body matches the contract's {which}", detail, resp,
             signature=signature, predicate=_predicate("conforms_to_contract"))


def _fields_named(value: Any, names: frozenset[str], owner: str = "(body)",
                  path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(owner object type, field path below it, value) for every field named in `names`, at any depth. A path is
    only spelled out for what is yielded and for the containers on the way (bodies hold thousands of fields)."""
    if isinstance(value, dict):
        if isinstance(value.get("object"), str) and value["object"] not in ("list", "search_result"):
            owner, path = value["object"], ""
        for key, child in value.items():
            if key in names:
                yield owner, f"{path}.{key}" if path else key, child
            if isinstance(child, (dict, list)):
                yield from _fields_named(child, names, owner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for child in value:
            if isinstance(child, (dict, list)):
                yield from _fields_named(child, names, owner, f"{path}[]")


_LIVEMODE = frozenset({"livemode"})


def livemode_is_false(op: Operation, resp: Response) -> None:
    """Test keys only ever see test-mode objects: no ``livemode: true`` (recorded, server-wide; a null or
    non-boolean livemode is a schema finding)."""
    for owner, path, value in _fields_named(resp.body, _LIVEMODE):
        if value is True:
            note(CONTRACT, op, "objects are livemode=false for test keys", f"{owner}.{path} is true", resp,
                 signature=f"{owner}.{path} true", predicate=_predicate("livemode_is_false"))
            return


EPOCH_FLOOR = 1_262_304_000  # 2010-01-01: no Stripe object is older
TIMESTAMP_FIELDS = frozenset({"created", "date", "transacted_at", "finalized_at", "paid_at", "voided_at"})


def timestamps_are_unix_seconds(op: Operation, resp: Response) -> None:
    """`created` and other times are Unix seconds: not milliseconds, not in the far future (recorded,
    server-wide)."""
    ceiling = int(time.time()) + 86_400
    for owner, path, value in _fields_named(resp.body, TIMESTAMP_FIELDS):
        if isinstance(value, int) and value != 0 and not EPOCH_FLOOR <= value <= ceiling:
            note(CONTRACT, op, "times are Unix seconds",
                 f"{owner}.{path} = {value} is not a plausible Unix time in seconds", resp,
                 signature=f"{owner}.{path} not Unix seconds", predicate=_predicate("timestamps_are_unix_seconds"))
            return


def amounts_add_up(op: Operation, resp: Response) -> None:
    """Every `relation` row of the rules table holds on every invoice, line item and invoice item in the body, at
    any depth (harness/invariants.py): recorded, server-wide, one finding per relation (signature: the rule)."""
    for v in violations(resp.body):
        source = v.rule.source.url if v.rule.source else "no source"
        note(INVARIANT, op, v.rule.statement, f"{v.path or 'the body'} ({v.object_id}): {v.detail} "
             f"[rule {v.rule.id}, {source}]", resp, signature=v.rule.id, predicate=_predicate("amounts_add_up"))


def well_formed(op: Operation, resp: Response) -> None:
    """Everything every answer must satisfy, whatever its status (only a 5xx stops the test)."""
    no_server_error(op, resp)
    is_json_with_request_id(op, resp)
    conforms_to_contract(op, resp)


def succeeds(op: Operation, resp: Response, what: str = "a valid request succeeds") -> dict:
    """A 2xx with the documented status and a well-formed body; returns the body. A non-2xx raises (the
    property under test); the rest is recorded."""
    well_formed(op, resp)
    if not 200 <= resp.status < 300:
        body = resp.body if isinstance(resp.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = f" ({error['code']})" if isinstance(error.get("code"), str) else ""
        fail(CONTRACT, op, what, f"expected 2xx, got {resp.status}", resp,
             signature=f"expected 2xx, got {resp.status}{code}", predicate=_predicate("succeeds"))
    if str(resp.status) not in op.responses:
        documented = sorted(s for s in op.responses if s.startswith("2"))
        note(CONTRACT, op, "the success status is the documented one",
             f"got {resp.status}; the contract documents {documented}", resp,
             signature=f"{resp.status} instead of {'/'.join(documented)}", predicate=_predicate("succeeds"))
    livemode_is_false(op, resp)
    timestamps_are_unix_seconds(op, resp)
    amounts_add_up(op, resp)
    return resp.body if isinstance(resp.body, dict) else {}


def is_stripe_error(op: Operation, resp: Response, *, status: int | tuple[int, ...] = 400,
                    error_type: str | None = "invalid_request_error", param: str | None = None,
                    code: str | None = None, what: str = "an invalid request is rejected",
                    defect: str | None = None, context: str = "") -> dict:
    """A Stripe-shaped error with the expected status, type, and (when given) param and code.

    A wrong status raises (the property under test): for `op` alone (signature ``expected 400, got 200``), or,
    when `defect` names the kind of invalid request (``"unknown"``, ``"range"``, ``"no API key"``, ...), as one
    server-wide finding per kind (``range: not answered 400``), whatever the operation answered instead.
    Type, param and code are the error envelope: recorded, server-wide. `context` (the request's label) goes
    into the detail. Returns the error object (``{}`` when there is none).
    """
    well_formed(op, resp)
    statuses = (status,) if isinstance(status, int) else status
    expected = " or ".join(map(str, statuses))
    suffix = f" ({context})" if context else ""
    kwargs = {"status": list(statuses), "error_type": error_type, "param": param, "code": code, "what": what,
              "defect": defect}
    if resp.status not in statuses:
        signature = f"expected {expected}, got {resp.status}"
        found = finding(CONTRACT, op, what, f"{signature}{suffix}", resp,
                        signature=f"{defect}: not answered {expected}" if defect else signature,
                        server_wide=True if defect else None,
                        predicate=_predicate("is_stripe_error", **kwargs))
        raise CheckFailed(found, f"{found.category.heading}: {op.label}: {what}\n{signature}{suffix}\n\n"
                                 f"{resp.describe()}")
    body = resp.body if isinstance(resp.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    envelope = _predicate("is_stripe_error", **kwargs)
    got_type = error.get("type")
    if error_type and got_type is not None and got_type != error_type:  # a missing type is a schema finding
        note(CONTRACT, op, "errors have the documented type", f"error.type should be {error_type!r}, got "
             f"{got_type!r}{suffix}", resp, signature=f"error.type {got_type} instead of {error_type}",
             predicate=envelope)
    if param is not None and error.get("param") != param:
        got = error.get("param")
        note(CONTRACT, op, "errors name the offending parameter",
             f"error.param should be {param!r}, got {got!r}{suffix}", resp,
             signature="error.param missing" if got in (None, "") else "error.param names another parameter",
             predicate=envelope)
    if code is not None and error.get("code") != code:
        got = error.get("code")
        note(CONTRACT, op, "errors carry the documented code", f"error.code should be {code!r}, got {got!r}{suffix}",
             resp, signature="error.code missing" if got in (None, "") else f"error.code {got} instead of {code}",
             predicate=envelope)
    return error


def documented_param_accepted(op: Operation, resp: Response, param: str) -> None:
    """A parameter the contract documents for `op` is not refused: an answer that is not a 2xx and names `param`
    raises a contract finding with the signature ``param=<param> refused`` (the world's recipe refusals,
    `harness.world.World.send`, which the replay re-judges with this check).

    :param param: the bracketed parameter, e.g. ``card[token]``.
    :raises CheckFailed: the answer refused `param`.
    """
    if 200 <= resp.status < 300:
        return
    body = resp.body if isinstance(resp.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    if error.get("param") == param:
        fail(CONTRACT, op, "a documented request is accepted", f"{op.label} refused {param} ({resp.status})", resp,
             signature=f"param={param} refused", server_wide=True)


for _check in (no_server_error, is_json, has_request_id, conforms_to_contract, livemode_is_false,
               timestamps_are_unix_seconds, amounts_add_up, succeeds, is_stripe_error, documented_param_accepted):
    register_check(_check.__name__, _check)
