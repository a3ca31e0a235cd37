"""Capability discovery: which of the contract's operations the target implements, probed once at session start.

One cheap, harmless request per operation (the 50 under test, the supporting endpoints and the test helpers):

- a list (GET without path parameters) is asked for ``limit=1``;
- every other operation gets a request that validation must refuse: an unknown parameter (Stripe answers
  ``400 parameter_unknown``, "Received unknown parameter"), a wrongly typed value for one documented parameter,
  and an unknown ID in the path. Nothing is created, changed or sent anywhere on a server that validates.

Each answer is classified:

- **implemented**: any JSON answer other than the router's (2xx, a Stripe-style 4xx, a JSON 404 naming a
  missing object on a path with an ID in it);
- **not implemented**: 405, 501, a JSON 404 ``Unrecognized request URL`` (Stripe's answer for a path it does not
  serve), or a non-JSON 404 that looks exactly like the target's answer for a path nobody serves
  (``/v1/harness_unrouted_probe``). When such a 404 comes from an operation with an ID in its path it could also
  be the target's (non-JSON) answer for a missing object, so it is *unconfirmed* until a request for an ID the
  target itself returned gets the same answer;
- **not evidence**: a 401 or 403 says nothing about routing (a target may check keys before it routes), so the
  operation stays *unconfirmed*, and so does a request sent without an ``Authorization`` header. A 404 on a path
  without an ID (``GET /v1/invoices/search`` answered as "no invoice with ID search") is never "no such object":
  the operation is not implemented;
- **broken**: a 5xx (asked twice: a transient 5xx the second request does not repeat is not counted).

A not-implemented operation of the 50 is one finding (`Category.NOT_IMPLEMENTED`); a broken one is a server error
finding. Tests of an unavailable operation skip with a reason naming it, instead of failing twenty ways.
`OperationSelection` (``--operations`` / ``--skip-operations``) limits the run to the operations a target
implements on purpose; excluded operations are neither probed nor reported.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from contracts.loader import Contract, Operation, fill_path
from harness import findings
from harness.client import ApiClient, Exchange, PlannedRequest, Response
from harness.findings import Category, CheckFailed, Finding

PROBE_PARAM = "harness_probe_unknown_parameter"  # no Stripe operation documents it
PROBE_ID = "harness_probe_missing_id"  # no object has it
UNROUTED_PATH = "/v1/harness_unrouted_probe"
NOT_IMPLEMENTED_CHECK = "the operation is implemented"
SERVER_ERROR_CHECK = "a client request must never cause a 5xx"


class Status(StrEnum):
    IMPLEMENTED = "implemented"
    NOT_IMPLEMENTED = "not implemented"
    UNCONFIRMED = "unconfirmed"  # answered like an unserved path, but only for an unknown ID (see module doc)
    BROKEN = "broken"
    EXCLUDED = "excluded"  # left out by --operations / --skip-operations


@dataclass
class Capability:
    """What the probe of one operation found."""

    operation_id: str
    label: str  # "POST /v1/invoices"
    support: bool  # a supporting endpoint or test helper, not one of the 50
    status: Status
    answer: str  # "404 text/plain", "400 parameter_unknown", ...
    exchange: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def available(self) -> bool:
        return self.status in (Status.IMPLEMENTED, Status.BROKEN, Status.UNCONFIRMED)


# -- which operations to test ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationSelection:
    """``--operations`` / ``--skip-operations``: comma-separated shell patterns (fnmatch, case-insensitive) that
    match an operation's ID (``CreateInvoice``), its label (``POST /v1/invoices``) or its tag (``Invoices``).
    Empty ``include`` means every operation."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def parse(cls, include: str | None, exclude: str | None) -> OperationSelection:
        def split(text: str | None) -> tuple[str, ...]:
            return tuple(p.strip() for p in (text or "").split(",") if p.strip())

        return cls(split(include), split(exclude))

    @staticmethod
    def _matches(op: Operation, patterns: Iterable[str]) -> bool:
        names = (op.operation_id.lower(), op.label.lower(), op.tag.lower())
        return any(fnmatch.fnmatchcase(name, p.lower()) for p in patterns for name in names)

    def selects(self, op: Operation) -> bool:
        """True when `op` is tested. Supporting endpoints are always kept (the world needs them)."""
        if op.support:
            return True
        if self.include and not self._matches(op, self.include):
            return False
        return not self._matches(op, self.exclude)

    def unknown_patterns(self, contract: Contract) -> list[str]:
        """Patterns that match no operation at all (a typo the user should hear about)."""
        ops = list(contract.operations.values())
        return [p for p in (*self.include, *self.exclude) if not any(self._matches(op, [p]) for op in ops)]


# -- probing -------------------------------------------------------------------------------------------------------


def _wrong_value(schema: dict) -> Any | None:
    """A value that violates `schema` by type or enum, or None when the schema accepts any string."""
    if "enum" in schema:
        return "harness_probe_not_in_enum"
    kind = schema.get("type")
    if kind in ("integer", "number", "boolean"):
        return "harness_probe_not_a_" + kind
    return None


def probe_request(op: Operation) -> tuple[str, dict[str, Any]]:
    """The path and params of the probe for `op` (see the module docstring for why each is harmless)."""
    path = fill_path(op.path, {name: PROBE_ID for name in op.path_params})
    if op.method == "GET" and not op.path_params:
        return path, {"limit": 1}
    params: dict[str, Any] = {PROBE_PARAM: "1"}
    props = (op.request_schema or {}).get("properties", {})
    for name, schema in props.items():
        wrong = _wrong_value(schema if isinstance(schema, dict) else {})
        if wrong is not None and name not in ("expand", "limit"):
            params[name] = wrong
            break
    return path, params


@dataclass(frozen=True)
class _Answer:
    status: int
    json: bool
    text: str  # the body as text, with the request path replaced (to compare with the unrouted answer)

    @classmethod
    def of(cls, resp: Response, path: str) -> _Answer:
        ctype = resp.headers.get("content-type", "")
        body = resp.body if isinstance(resp.body, str) else json.dumps(resp.body, sort_keys=True)
        return cls(resp.status, ctype.startswith("application/json"), body.replace(path, "{path}")[:500])


def _error_message(resp: Response) -> str:
    body = resp.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return ""


def _describe(resp: Response) -> str:
    ctype = resp.headers.get("content-type", "").split(";")[0] or "no content type"
    if isinstance(resp.body, dict) and isinstance(resp.body.get("error"), dict):
        code = resp.body["error"].get("code") or resp.body["error"].get("type") or "error"
        return f"{resp.status} {code}"
    return f"{resp.status} {ctype}"


def classify(resp: Response, path: str, unrouted: _Answer | None, has_path_params: bool) -> Status:
    """The status an answer to a probe implies (see the module docstring)."""
    if resp.status in (405, 501):
        return Status.NOT_IMPLEMENTED
    if resp.status >= 500:
        return Status.BROKEN
    if resp.status == 404 and _error_message(resp).startswith("Unrecognized request URL"):
        return Status.NOT_IMPLEMENTED
    if resp.status in (401, 403):  # not evidence of a route: keys may be checked before routing
        return Status.UNCONFIRMED
    if resp.status == 404 and not has_path_params:  # no ID in the path, so not "no such object"
        return Status.NOT_IMPLEMENTED
    answer = _Answer.of(resp, path)
    if resp.status == 404 and not answer.json:
        looks_unrouted = unrouted is not None and (unrouted.status, unrouted.json, unrouted.text) == (
            answer.status, answer.json, answer.text)
        if unrouted is None or looks_unrouted:
            return Status.UNCONFIRMED if has_path_params else Status.NOT_IMPLEMENTED
    return Status.IMPLEMENTED


class Capabilities:
    """The probe results of one session, and what tests do about them."""

    def __init__(self, results: dict[str, Capability], unrouted: _Answer | None = None) -> None:
        self.results = results
        self._watching = True
        self._unrouted = unrouted
        self._lock = threading.Lock()
        self._known_ids: set[str] = set()

    # -- questions tests ask -----------------------------------------------------------------------------

    def status(self, operation_id: str) -> Status:
        found = self.results.get(operation_id)
        return found.status if found else Status.IMPLEMENTED

    def unavailable_reason(self, operation_id: str) -> str | None:
        """Why tests of this operation skip (None: it can be tested)."""
        found = self.results.get(operation_id)
        if found is None or found.available:
            return None
        if found.status is Status.EXCLUDED:
            return f"{found.label} is excluded from this run (--operations / --skip-operations)"
        return (f"the target does not implement {found.label} (capability discovery: the probe got "
                f"{found.answer})")

    # -- watching the session's traffic ------------------------------------------------------------------

    @property
    def needs_watching(self) -> bool:
        """Whether some operation is unavailable or unconfirmed, so exchanges must be observed. Asked on every
        exchange; once False it stays False (statuses only change while exchanges are observed)."""
        if self._watching:
            self._watching = any(not c.available or c.status is Status.UNCONFIRMED for c in self.results.values())
        return self._watching

    def observe(self, contract: Contract, ex: Exchange) -> str | None:
        """Look at one exchange of a test; returns a skip reason when it used an unavailable operation.

        Also settles unconfirmed operations: any answer other than the unserved-path one to a request sent with a
        key, other than 401/403 (see `_is_evidence`), proves the operation
        exists; that answer to a request for an ID the target returned earlier proves it missing (one finding).
        The unserved-path answer for an unknown ID proves nothing, but the test learns nothing from it either:
        it skips."""
        if ex.status is not None and 200 <= ex.status < 300 and isinstance(ex.body, dict):
            self._remember_ids(ex.body)
        matched = _match(contract, ex.method, ex.path)
        if matched is None:
            return None
        op, path_params = matched
        found = self.results.get(op.operation_id)
        if found is None:
            return None
        if found.status is Status.UNCONFIRMED and ex.status is not None and _is_evidence(ex):
            return self._settle(found, path_params, ex)
        return self.unavailable_reason(op.operation_id)

    def _remember_ids(self, body: dict) -> None:
        items = body.get("data") if body.get("object") in ("list", "search_result") else [body]
        with self._lock:
            for item in items or []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    self._known_ids.add(item["id"])

    def _settle(self, found: Capability, path_params: dict[str, str], ex: Exchange) -> str | None:
        ctype = next((v for k, v in ex.response_headers.items() if k.lower() == "content-type"), "")
        body = ex.body if isinstance(ex.body, str) else json.dumps(ex.body, sort_keys=True)
        answer = _Answer(ex.status or 0, ctype.startswith("application/json"), body.replace(ex.path, "{path}")[:500])
        confirmed = False
        with self._lock:
            if found.status is not Status.UNCONFIRMED:
                return self.unavailable_reason(found.operation_id)
            if self._unrouted is None or answer != self._unrouted:
                found.status = Status.IMPLEMENTED
                return None
            if any(value in self._known_ids for value in path_params.values()):
                found.status = Status.NOT_IMPLEMENTED
                found.exchange = ex.to_dict()
                found.answer = f"{ex.status} {ctype.split(';')[0] or 'no content type'}, for an existing ID"
                confirmed = True
        if confirmed:
            if not found.support:
                _record_outside_tests(_not_implemented_finding(found))
            return self.unavailable_reason(found.operation_id)
        return (f"{found.label} answered {found.answer}, like a path the target does not serve (capability "
                "discovery could not yet tell a missing operation from a missing object)")

    # -- persistence (xdist workers write parts, the controller merges them) -----------------------------

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        for c in self.results.values():
            row = asdict(c)
            row["status"] = c.status.value
            row.pop("exchange")
            rows.append(row)
        path.write_text(json.dumps(rows, indent=1))

    @staticmethod
    def merge(parts: Iterable[Path]) -> dict[str, Capability]:
        """One view from every worker's part: an operation is missing if any worker proved it missing."""
        rank = [Status.NOT_IMPLEMENTED, Status.BROKEN, Status.IMPLEMENTED, Status.UNCONFIRMED, Status.EXCLUDED]
        merged: dict[str, Capability] = {}
        for part in parts:
            try:
                rows = json.loads(part.read_text())
            except (OSError, ValueError):
                continue
            for row in rows:
                cap = Capability(**{**row, "status": Status(row["status"])})
                old = merged.get(cap.operation_id)
                if old is None or rank.index(cap.status) < rank.index(old.status):
                    merged[cap.operation_id] = cap
        return merged


def _is_evidence(ex: Exchange) -> bool:
    """True when `ex` can tell whether the target routes its operation: sent with credentials (Bearer or Basic)
    and not answered 401/403 (a target that checks keys first answers those for every path, served or not)."""
    auth = next((v for k, v in ex.request_headers.items() if k.lower() == "authorization"), "")
    scheme = auth.strip().split(" ", 1)[0].lower()
    return scheme in ("bearer", "basic") and len(auth.strip()) > len(scheme) and ex.status not in (401, 403)


@functools.lru_cache(maxsize=4096)
def _match_cached(contract_id: int, method: str, path: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    found = _CONTRACTS[contract_id].match(method, path)
    return None if found is None else (found[0].operation_id, tuple(sorted(found[1].items())))


_CONTRACTS: dict[int, Contract] = {}


def _match(contract: Contract, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    _CONTRACTS.setdefault(id(contract), contract)
    found = _match_cached(id(contract), method, path)
    return None if found is None else (contract[found[0]], dict(found[1]))


def discover(client: ApiClient, contract: Contract, selection: OperationSelection | None = None) -> Capabilities:
    """Probe every operation of `contract` once through `client` (which should not record the probes as test
    traffic), record a finding for each of the 50 that is not implemented or broken, and return the results.

    The probes do not depend on one another, so they go out as one `ApiClient.request_all` batch: up to the
    client's `concurrency` at once (one after another with ``concurrency=1``)."""
    selection = selection or OperationSelection()
    results: dict[str, Capability] = {}
    probed: list[tuple[Operation, str, dict[str, Any]]] = []
    for op in sorted(contract.operations.values(), key=lambda o: (o.support, o.path, o.method)):
        if selection.selects(op):
            probed.append((op, *probe_request(op)))
        else:
            results[op.operation_id] = Capability(op.operation_id, op.label, op.support, Status.EXCLUDED, "")
    unrouted_resp, *answers = client.request_all(
        [PlannedRequest("GET", UNROUTED_PATH, {PROBE_PARAM: "1"}),
         *(PlannedRequest(op.method, path, params) for op, path, params in probed)])
    unrouted = None if unrouted_resp.status >= 500 else _Answer.of(unrouted_resp, UNROUTED_PATH)
    for (op, path, params), resp in zip(probed, answers, strict=True):
        status = classify(resp, path, unrouted, bool(op.path_params))
        if status is Status.BROKEN:  # once more: a transient 5xx is not a broken operation
            again = client.request(op.method, path, params)
            if again.status < 500:
                resp, status = again, classify(again, path, unrouted, bool(op.path_params))
        results[op.operation_id] = Capability(op.operation_id, op.label, op.support, status, _describe(resp),
                                              resp.exchange.to_dict())
    _settle_by_collection(contract, results)
    caps = Capabilities(results, unrouted)
    for cap in results.values():
        if cap.support:
            continue
        if cap.status is Status.NOT_IMPLEMENTED:
            _record_outside_tests(_not_implemented_finding(cap))
        elif cap.status is Status.BROKEN:
            _record_outside_tests(Finding(
                Category.SERVER_ERROR, SERVER_ERROR_CHECK, cap.label, f"status {cap.answer.split()[0]}",
                f"a request that validation must refuse (capability probe) got {cap.answer}",
                [cap.exchange] if cap.exchange else [], predicate={"check": "no_server_error", "kwargs": {}}))
    return caps


def _settle_by_collection(contract: Contract, results: dict[str, Capability]) -> None:
    """An unconfirmed operation on ``/v1/things/{id}/...`` is missing when every operation on ``/v1/things`` (the
    collection) is proven missing: the target serves nothing of that resource."""
    for cap in results.values():
        if cap.status is not Status.UNCONFIRMED:
            continue
        prefix = contract[cap.operation_id].path.split("/{")[0]
        collection = [results[op.operation_id] for op in contract.operations.values()
                      if op.path == prefix and op.operation_id in results]
        if collection and all(c.status is Status.NOT_IMPLEMENTED for c in collection):
            cap.status = Status.NOT_IMPLEMENTED
            cap.answer += f", and nothing on {prefix} is served"


def _not_implemented_finding(cap: Capability) -> Finding:
    return Finding(Category.NOT_IMPLEMENTED, NOT_IMPLEMENTED_CHECK, cap.label, "not implemented",
                   f"{cap.label} answered {cap.answer}, the target's answer for a path it does not serve; its "
                   "other tests are skipped. If the target leaves it out on purpose, run with "
                   "--skip-operations to leave it out of the run.",
                   [cap.exchange] if cap.exchange else [],
                   predicate={"check": "operation_is_implemented", "kwargs": {}})


def operation_is_implemented(operation: Any, resp: Response, **_: Any) -> None:
    """The replay check of a not-implemented finding: raises `CheckFailed` while the operation still answers as
    a path the target does not serve (405, 501, ``Unrecognized request URL``, a non-JSON 404, any 404 on a path
    without an ID) or gives no evidence either way (401/403)."""
    label = getattr(operation, "label", str(operation))
    has_path_params = bool(getattr(operation, "path_params", ()))
    # Without the unrouted answer, a non-JSON 404 on an ID path is "unconfirmed": still not shown implemented.
    if classify(resp, resp.exchange.path, None, has_path_params) in (Status.NOT_IMPLEMENTED, Status.UNCONFIRMED):
        cap = Capability("", label, False, Status.NOT_IMPLEMENTED, _describe(resp), resp.exchange.to_dict())
        raise CheckFailed(_not_implemented_finding(cap))


findings.register_check("operation_is_implemented", operation_is_implemented)


def _record_outside_tests(finding: Finding) -> None:
    """Record a session-level finding without attributing it to whichever test happened to be running."""
    current = findings.current_test()
    findings.set_current_test(None)
    try:
        findings.record(finding)
    finally:
        findings.set_current_test(current)


def summary_lines(results: dict[str, Capability]) -> list[str]:
    """The terminal summary: how many of the 50 are implemented, and which are not (or are broken)."""
    seed = [c for c in results.values() if not c.support]
    excluded = [c for c in seed if c.status is Status.EXCLUDED]
    probed = [c for c in seed if c.status is not Status.EXCLUDED]
    missing = [c for c in probed if c.status is Status.NOT_IMPLEMENTED]
    broken = [c for c in probed if c.status is Status.BROKEN]
    unsure = [c for c in probed if c.status is Status.UNCONFIRMED]
    lines = [f"The target implements {len(probed) - len(missing) - len(unsure)} of the {len(probed)} operations "
             "probed" + (f" ({len(excluded)} of the {len(seed)} left out by --operations/--skip-operations)"
                         if excluded else "") + "."]
    if unsure:
        lines.append(f"Unconfirmed ({len(unsure)}: answered like a path the target does not serve, and no request "
                     "for an existing object settled it): " + ", ".join(c.label for c in unsure))
    if missing:
        lines.append(f"Not implemented ({len(missing)}): " + ", ".join(c.label for c in missing))
    if broken:
        lines.append(f"Broken, 5xx to a probe ({len(broken)}): " + ", ".join(c.label for c in broken))
    support_missing = [c for c in results.values() if c.support and c.status is Status.NOT_IMPLEMENTED]
    if support_missing:
        lines.append("Supporting endpoints / test helpers not available (tests needing them skip): "
                     + ", ".join(c.label for c in support_missing))
    return lines
