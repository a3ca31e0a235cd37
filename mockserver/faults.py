"""The planted-fault catalogue: realistic bugs of API implementations, one small hook each.

`python -m mockserver --fault NAME` (or `pytest --fault NAME` / HARNESS_FAULT for the embedded mock) turns one on.
Each entry says what it breaks and which suite should catch it; `python -m harness.faultmatrix` checks that every
one is caught. Faults only use the app's extension points (mockserver.hooks.Hooks): no handler knows about them.

The harness never imports this module: it learns the catalogue from `python -m mockserver --fault list --json`
(`catalogue_data`), so the mock and the harness stay two programs that share only the wire format and the contract.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from contracts.loader import load_contract
from contracts.rules import load_rules
from contracts.validation import validate
from mockserver import idempotency
from mockserver.context import Context
from mockserver.errors import ApiError
from mockserver.expand import expand
from mockserver.hooks import Hooks
from mockserver.messages import Request, Response
from wire import search_query
from wire.errors import ParamError
from wire.search_query import QuerySyntaxError, parse


@dataclass(frozen=True)
class Recognise:
    """How the finding a fault causes is recognised in a run's findings (``reports/findings.json``).

    A finding is this fault's when its category is one of `categories` (any, if empty), the text ``"check
    (signature)"`` matches the regular expression `check` or names one of the `statements` (case-insensitive
    search) and its ``operation`` matches one of the shell patterns in `operations` (for a finding not tied to one
    operation, ``"*"``, one of the operations it was seen on must; one seen nowhere in particular matches any).
    `statements` are check names quoted literally (a relation rule's statement); the reader folds their per-run
    values as findings do before matching. `expect` is how many distinct findings the fault should produce: one,
    or one per operation when it breaks several operations independently (an operation that is not implemented is
    its own finding). `also`: further shapes its findings take (a finding matching any of them is this fault's).
    The harness applies it (``harness.catalogue``); here it is data.
    """

    check: str
    operations: tuple[str, ...] = ("*",)
    categories: tuple[str, ...] = ()
    expect: int = 1
    also: tuple[Recognise, ...] = ()
    statements: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `python -m mockserver --fault list --json` prints (every field, `also` nested)."""
        return {"check": self.check, "statements": list(self.statements), "operations": list(self.operations),
                "categories": list(self.categories), "expect": self.expect,
                "also": [other.to_dict() for other in self.also]}


CONTRACT, INVARIANT, SERVER, MISSING = "contract violation", "invariant violation", "server error", "not implemented"
LISTS = ("GET /v1/*",)
INVOICE_ACTIONS = ("POST /v1/invoices/*", "DELETE /v1/invoices/*")
# A lenient validator lets an invalid request on to later checks, so what it answers instead (another code or param)
# is the same defect's doing.
LENIENT = r"rejected|refused|changes nothing|errors carry the documented code|errors name the offending parameter"
READ_BACK = r"read-after-write|retrieve after|update|stored|model|read back|follows its lines"


@dataclass(frozen=True)
class Fault:
    name: str
    family: str
    breaks: str
    caught_by: str  # the suite (pytest marker) that should catch it
    hooks: type[Hooks]
    finding: Recognise | None  # how its finding is recognised (fault matrix --multi); every entry declares one


CATALOGUE: dict[str, Fault] = {}


def fault(name: str, family: str, breaks: str, caught_by: str,
          finding: Recognise | None = None) -> Callable[[type[Hooks]], type[Hooks]]:
    def register(cls: type[Hooks]) -> type[Hooks]:
        CATALOGUE[name] = Fault(name, family, breaks, caught_by, cls, finding)
        return cls

    return register


def _op(req: Request) -> str:
    return req.operation.operation_id if req.operation else ""


def _is_list(req: Request) -> bool:
    return bool(req.operation and req.operation.is_list)


def _objects(body: Any, kind: str) -> list[dict]:
    """Every object of `kind` in an answer (the object itself, or a list's items)."""
    if isinstance(body, dict) and body.get("object") in ("list", "search_result"):
        return [o for o in body.get("data", []) if isinstance(o, dict) and o.get("object") == kind]
    return [body] if isinstance(body, dict) and body.get("object") == kind else []


# -- pagination ------------------------------------------------------------------------------------------------


@fault("limit_ignored", "pagination", "lists ignore `limit` and return up to 100 objects", "pagination",
       finding=Recognise(r"limit is honoured", LISTS))
class LimitIgnored(Hooks):
    def after_validation(self, req: Request) -> None:
        if _is_list(req) and "limit" in req.params:
            req.params["limit"] = 100


@fault("has_more_always_false", "pagination", "`has_more` is always false", "pagination",
       finding=Recognise(r"has_more is true exactly|visits every object|next_page|ending_before pages", LISTS))
class HasMoreAlwaysFalse(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        if _is_list(req):
            body["has_more"] = False
            if body.get("object") == "search_result":
                body["next_page"] = None
        return body


@fault("has_more_always_true", "pagination", "`has_more` is true even on the last page", "pagination",
       finding=Recognise(r"has_more is true|pages ends|visits every object", LISTS))
class HasMoreAlwaysTrue(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        if _is_list(req) and body.get("object") == "list" and body["data"]:
            body["has_more"] = True
        return body


@fault("list_oldest_first", "pagination", "lists come oldest first", "pagination",
       # cursors are positions in the order: a walk or a filtered walk under the wrong order skips objects too
       finding=Recognise(r"newest first|in the order|ending_before pages|visits every object|search returns exactly|"
                         r"returns exactly the matching objects", LISTS))
class ListOldestFirst(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        if _is_list(req):
            body["data"] = list(reversed(body["data"]))
        return body


@fault("cursor_off_by_one", "pagination", "`starting_after` repeats the cursor object on the next page",
       "pagination",
       finding=Recognise(r"visits every object|ending_before pages|has_more is true exactly", LISTS))
class CursorOffByOne(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        cursor = req.params.get("starting_after")
        if _is_list(req) and cursor and body["data"]:
            found = ctx.account.find(cursor)
            if found is not None:
                body["data"] = [copy.deepcopy(found), *body["data"][:-1]]
        return body


@fault("ending_before_ignored", "pagination", "`ending_before` is ignored (the first page comes back)", "pagination",
       finding=Recognise(r"ending_before|visits every object", LISTS))
class EndingBeforeIgnored(Hooks):
    def after_validation(self, req: Request) -> None:
        req.params.pop("ending_before", None)


@fault("unknown_cursor_first_page", "pagination", "an unknown cursor silently gives the first page", "pagination",
       finding=Recognise(r"cursor naming no object", LISTS))
class UnknownCursorFirstPage(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        try:
            return handler(ctx)
        except ApiError as exc:
            if exc.param in ("starting_after", "ending_before", "page"):
                ctx.params.pop(exc.param, None)
                return handler(ctx)
            raise


@fault("status_filter_ignored", "filters", "list filter `status` is ignored", "pagination",
       finding=Recognise(r"status=|filters return exactly", LISTS))
class StatusFilterIgnored(Hooks):
    def after_validation(self, req: Request) -> None:
        if _is_list(req):
            req.params.pop("status", None)


@fault("created_gt_is_gte", "filters", "`created[gt]`/`[lt]` include the bound (treated as gte/lte)", "pagination",
       finding=Recognise(r"created\[.*matching objects|filters return exactly", LISTS))
class CreatedGtIsGte(Hooks):
    def after_validation(self, req: Request) -> None:
        bounds = req.params.get("created")
        if _is_list(req) and isinstance(bounds, dict):
            req.params["created"] = {{"gt": "gte", "lt": "lte"}.get(k, k): v for k, v in bounds.items()}


# -- schema ------------------------------------------------------------------------------------------------------


@fault("invoice_currency_missing", "schema", "invoices lack the required `currency` field", "conformance",
       finding=Recognise(r"200 schema|currency", categories=(CONTRACT,)))
class InvoiceCurrencyMissing(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for obj in _objects(body, "invoice"):
            obj.pop("currency", None)
        return body


@fault("amount_as_string", "schema", "`amount_due` is serialised as a string", "conformance",
       finding=Recognise(r"200 schema|amount", categories=(CONTRACT, INVARIANT)))
class AmountAsString(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        body = copy.deepcopy(body)  # the answer only: the stored invoice keeps its integer (no later 500s)
        for obj in _objects(body, "invoice"):
            if "amount_due" in obj:  # a deletion answer ({id, object, deleted}) has no amounts
                obj["amount_due"] = str(obj["amount_due"])
        return body


@fault("wrong_object_name", "schema", "invoice items say `object: invoice_item`", "conformance",
       finding=Recognise(r"200 schema|object", categories=(CONTRACT,)))
class WrongObjectName(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for obj in _objects(body, "invoiceitem"):
            obj["object"] = "invoice_item"
        return body


@fault("null_livemode", "schema", "`livemode` is null (not nullable) on verification sessions", "conformance",
       finding=Recognise(r"livemode|200 schema", categories=(CONTRACT,)))
class NullLivemode(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for obj in _objects(body, "identity.verification_session"):
            obj["livemode"] = None
        return body


@fault("nested_nulls_dropped", "schema", "a retrieved invoice's `payment_settings` leaves out its null fields",
       "conformance",
       finding=Recognise(r"required default_mandate", ("GET /v1/invoices/{invoice}",), (CONTRACT,)))
class NestedNullsDropped(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for obj in _objects(body, "invoice") if _op(req) == "RetrieveInvoice" else ():
            settings = obj.get("payment_settings")
            if isinstance(settings, dict):
                obj["payment_settings"] = {k: v for k, v in settings.items() if v is not None}
        return body


@fault("embedded_card_stub", "schema", "a retrieved Issuing authorization embeds its card as `{id, object}` only",
       "conformance", finding=Recognise(r"issuing\.card: required", ("GET /v1/issuing/authorizations/*",),
                                        (CONTRACT,)))
class EmbeddedCardStub(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for obj in _objects(body, "issuing.authorization") if _op(req) == "RetrieveIssuingAuthorization" else ():
            card = obj.get("card")
            if isinstance(card, dict):
                obj["card"] = {"id": card.get("id"), "object": card.get("object")}
        return body


@fault("includable_always_sent", "schema", "a retrieved verification session sends `verified_outputs` unasked",
       "properties", finding=Recognise(r"includable field is left out unless expanded",
                                       ("GET /v1/identity/verification_sessions/*",), (CONTRACT,)))
class IncludableAlwaysSent(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        sessions = ctx.account.collection("identity.verification_session")
        retrieve = _op(req) == "RetrieveIdentityVerificationSession"
        for obj in _objects(body, "identity.verification_session") if retrieve else ():
            stored = sessions.get(obj.get("id"))
            if stored is not None and "verified_outputs" not in obj:
                obj["verified_outputs"] = copy.deepcopy(stored.get("verified_outputs"))
        return body


@fault("created_in_milliseconds", "schema", "`created` is in milliseconds, not seconds", "conformance",
       finding=Recognise(r"unix seconds|200 schema", categories=(CONTRACT,)))
class CreatedInMilliseconds(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for obj in _objects(body, "invoice_rendering_template"):
            obj["created"] = obj["created"] * 1000
        return body


# -- status codes, content types, error shapes -------------------------------------------------------------------


@fault("create_returns_201", "status codes", "creates answer 201 instead of the documented 200", "conformance",
       finding=Recognise(r"success status|201", ("POST /v1/*",), (CONTRACT,)))
class CreateReturns201(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        if resp.status == 200 and _op(req).startswith("Create"):
            resp.status = 201
        return resp


@fault("html_content_type", "content types", "successful answers are labelled text/html", "conformance",
       finding=Recognise(r"responses are json", ("GET /v1/*",), (CONTRACT,)))
class HtmlContentType(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        if resp.status == 200 and _op(req).startswith("Retrieve"):
            resp.headers["content-type"] = "text/html; charset=utf-8"
        return resp


@fault("plain_text_not_found", "content types", "a missing object is a text/plain 404, not a JSON error",
       "security",
       finding=Recognise(r"responses are json|json object|error schema|invisible|404", categories=(CONTRACT,)))
class PlainTextNotFound(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        if resp.status == 404:
            resp.body, resp.headers["content-type"] = b"Not Found", "text/plain"
        return resp


@fault("no_request_id", "headers", "list answers have no Request-Id header", "conformance",
       finding=Recognise(r"request-id", LISTS, (CONTRACT,)))
class NoRequestId(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        if _is_list(req):
            resp.headers["request-id"] = ""
        return resp


@fault("error_without_param", "error shape", "400 errors do not name the offending `param`", "negative",
       finding=Recognise(r"error\.param|offending param", categories=(CONTRACT,)))
class ErrorWithoutParam(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        if resp.status == 400 and isinstance(resp.body, dict):
            resp.body.get("error", {}).pop("param", None)
        return resp


@fault("error_without_type", "error shape", "error bodies lack `type`", "negative",
       finding=Recognise(r"error schema|error\.type", categories=(CONTRACT,)))
class ErrorWithoutType(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        if 400 <= resp.status < 500 and isinstance(resp.body, dict):
            resp.body.get("error", {}).pop("type", None)
        return resp


@fault("server_error_on_limit_100", "5xx", "`limit=100` (a boundary) causes a 500", "conformance",
       # a 5xx is one finding per operation (its cause is not visible from outside): one per list
       finding=Recognise(r"5xx", LISTS, (SERVER,),
                         expect=sum(op.is_list for op in load_contract().seed_operations)))
class ServerErrorOnLimit100(Hooks):
    def after_validation(self, req: Request) -> None:
        if req.params.get("limit") == 100:
            raise ApiError(500, "Internal server error", type="api_error")


# -- validation leniency -----------------------------------------------------------------------------------------


class _Lenient(Hooks):
    """Accept a request the contract says is invalid: drop the offending part and go on."""

    codes: tuple[str, ...] = ()

    def on_param_error(self, req: Request, error: ParamError, raw: dict) -> dict:
        if error.code not in self.codes:
            raise error
        from contracts.validation import validate

        assert req.operation is not None
        for _ in range(20):  # drop each offending top-level parameter in turn
            raw.pop(error.param.split("[")[0], None)
            try:
                return validate(raw, req.operation.request_schema)
            except ParamError as again:
                if again.code not in self.codes:
                    raise
                error = again
        raise error


@fault("missing_required_accepted", "validation", "missing required parameters are not detected", "negative",
       finding=Recognise(LENIENT, categories=(CONTRACT, INVARIANT),
                         # what the handlers do with a request validation let through: a crash is a 5xx there
                         also=(Recognise(r"5xx", categories=(SERVER,)),)))
class MissingRequiredAccepted(Hooks):
    def on_param_error(self, req: Request, error: ParamError, raw: dict) -> dict:
        if error.code != "parameter_missing":
            raise error
        from contracts.validation import validate

        assert req.operation is not None
        return validate(raw, _without_required(req.operation.request_schema))


def _without_required(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_required(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_without_required(v) for v in schema]
    return schema


@fault("unknown_parameter_accepted", "validation", "unknown parameters are silently ignored", "negative",
       finding=Recognise(LENIENT, categories=(CONTRACT, INVARIANT)))
class UnknownParameterAccepted(_Lenient):
    codes = ("parameter_unknown",)


@fault("limit_out_of_range_accepted", "validation", "`limit` outside 1..100 is accepted", "negative",
       finding=Recognise(LENIENT, LISTS, (CONTRACT, INVARIANT)))
class LimitOutOfRangeAccepted(Hooks):
    def on_param_error(self, req: Request, error: ParamError, raw: dict) -> dict:
        if error.param != "limit":
            raise error
        from contracts.validation import validate

        raw["limit"] = "10"
        assert req.operation is not None
        return validate(raw, req.operation.request_schema)


@fault("metadata_limits_not_enforced", "validation", "metadata over 50 keys / 40-char keys / 500-char values is "
       "accepted", "negative",
       finding=Recognise(LENIENT, ("POST /v1/*",), (CONTRACT, INVARIANT)))
class MetadataLimitsNotEnforced(_Lenient):
    codes = ("parameter_invalid", "parameter_invalid_string_too_long")

    def on_param_error(self, req: Request, error: ParamError, raw: dict) -> dict:
        if "metadata" not in error.param:
            raise error
        return super().on_param_error(req, error, raw)


@fault("bad_enum_accepted", "validation", "values outside an enum are accepted", "negative",
       finding=Recognise(LENIENT, categories=(CONTRACT, INVARIANT),
                         # what the handlers do with a request validation let through: a crash is a 5xx there
                         also=(Recognise(r"5xx", categories=(SERVER,)),)))
class BadEnumAccepted(_Lenient):
    codes = ("parameter_invalid",)

    def on_param_error(self, req: Request, error: ParamError, raw: dict) -> dict:
        if "must be one of" not in error.message:
            raise error
        return super().on_param_error(req, error, raw)


# -- lifecycles ----------------------------------------------------------------------------------------------------


def _invoice(ctx: Context) -> dict | None:
    return ctx.account.collection("invoice").get(ctx.path.get("invoice", ""))


@fault("void_accepts_draft", "lifecycle", "voiding a draft invoice is accepted", "lifecycle",
       finding=Recognise(r"void", INVOICE_ACTIONS))
class VoidAcceptsDraft(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        inv = _invoice(ctx)
        if _op(req) == "VoidInvoice" and inv is not None and inv["status"] == "draft":
            inv["status"] = "void"
            return inv
        return handler(ctx)


@fault("delete_open_invoice", "lifecycle", "deleting an open invoice is accepted", "lifecycle",
       finding=Recognise(r"delet", INVOICE_ACTIONS))
class DeleteOpenInvoice(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        inv = _invoice(ctx)
        if _op(req) == "DeleteInvoice" and inv is not None and inv["status"] == "open":
            ctx.account.collection("invoice").remove(inv["id"])
            return {"id": inv["id"], "object": "invoice", "deleted": True}
        return handler(ctx)


@fault("add_lines_after_finalize", "lifecycle", "lines can be added to a finalized invoice", "lifecycle",
       finding=Recognise(r"add_lines|lines is refused", INVOICE_ACTIONS,
                         # a line added to a paid invoice leaves it paid with something remaining
                         also=(Recognise(r"paid_in_full", ("*/v1/invoices*",)),)))
class AddLinesAfterFinalize(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        inv = _invoice(ctx)
        if _op(req) == "AddInvoiceLines" and inv is not None and inv["status"] != "draft":
            status = inv["status"]
            inv["status"] = "draft"
            try:
                return handler(ctx)
            finally:
                inv["status"] = status
        return handler(ctx)


@fault("finalize_does_not_stick", "lifecycle", "finalize answers `open` but the invoice stays a draft", "lifecycle",
       finding=Recognise(r"finaliz|read|status|model|invalid_state|on a open invoice",
                         ("POST /v1/invoices/*", "DELETE /v1/invoices/*", "GET /v1/invoices*"),
                         # the invoice the harness finalized is still a draft: acting on it as open fails
                         also=(Recognise(r"on a (open|paid|draft) .*invoice is (allowed|refused)|invoice_not_editable|"
                                         r"is refused where the transition table",
                                         INVOICE_ACTIONS),
                               Recognise(r"a (valid|boundary) request succeeds", ("POST /v1/invoices/*/void",
                                                                        "POST /v1/invoices/*/mark_uncollectible",
                                                                        "POST /v1/invoices/*/pay",
                                                                        "POST /v1/invoices/*/send")),)))
class FinalizeDoesNotStick(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        inv = _invoice(ctx)
        if _op(req) != "FinalizeInvoice" or inv is None:
            return handler(ctx)
        before = copy.deepcopy(inv)
        answer = copy.deepcopy(handler(ctx))
        inv.clear()
        inv.update(before)
        return answer


@fault("number_not_set", "lifecycle", "finalized invoices have no `number`", "lifecycle",
       finding=Recognise(r"number", ("*/v1/invoices*", "invoice *")))
class NumberNotSet(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for obj in _objects(body, "invoice"):
            obj["number"] = None
        return body


@fault("amount_remaining_stale_after_pay", "amounts", "after pay, `amount_remaining` keeps the old value",
       "lifecycle",
       # a paid invoice with something still "remaining" breaks paid_in_full too: the same stale field
       finding=Recognise(r"amount_remaining|amount_due - amount_paid|paid_in_full", ("*/v1/invoices*",)))
class AmountRemainingStale(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        inv = _invoice(ctx)
        remaining = inv["amount_remaining"] if inv is not None else None
        result = handler(ctx)
        if _op(req) == "PayInvoice" and inv is not None and remaining:
            inv["amount_remaining"] = remaining
        return result


# -- amount relations: one fault per `relation` row of the rules table (contracts/rules.yaml) ------------------------
# Each breaks what the answers say, wherever an invoice, line or item is carried (nested ones included); the
# cross-cutting check (harness.checks.amounts_add_up) catches it in whichever suite sees it first.

RELATION_FAULTS: dict[str, str] = {"amount_remaining_stale_after_pay": "amounts.amount_remaining"}  # fault -> rule


def _every(body: Any, kind: str) -> list[dict]:
    """Every object of `kind` in an answer, at any depth (an invoice's embedded lines, expanded objects...)."""
    found: list[dict] = []
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("object") == kind and not value.get("deleted"):
                found.append(value)
            stack.extend(v for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend(v for v in value if isinstance(v, (dict, list)))
    return found


def relation_fault(name: str, rule: str, breaks: str, also: tuple[str, ...] = (),
                   extra: str = "") -> Callable[[type[Hooks]], type[Hooks]]:
    """A fault breaking one relation row; its finding is that row's (check = the rule's statement). `also`: the
    relations that follow from it (a wrong subtotal also breaks subtotal_excluding_tax = subtotal), `extra` a
    regular expression for the other checks it trips, so every finding it causes is explained."""
    RELATION_FAULTS[name] = rule
    statements = tuple(load_rules()[r].statement for r in (rule, *also))
    return fault(name, "amounts", breaks, "conformance",
                 finding=Recognise(extra, categories=(INVARIANT,), expect=1 + len(also), statements=statements))


@relation_fault("due_date_on_charge_automatically", "invoice.due_date.null_unless_send_invoice",
                "charge_automatically invoices carry a due_date (30 days after creation)", extra="due_date")
class DueDateOnChargeAutomatically(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            if inv.get("collection_method") == "charge_automatically" and isinstance(inv.get("created"), int):
                inv["due_date"] = inv["created"] + 30 * 86400
        return body


@relation_fault("subtotal_misses_last_line", "amounts.subtotal", "`subtotal` leaves out the last line",
                also=("amounts.subtotal_excluding_tax",))
class SubtotalMissesLastLine(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            data = (inv.get("lines") or {}).get("data") or []
            if len(data) >= 2:
                inv["subtotal"] -= data[-1]["amount"]
        return body


@relation_fault("subtotal_excluding_tax_zero", "amounts.subtotal_excluding_tax",
                "`subtotal_excluding_tax` is 0 on untaxed invoices", also=("amounts.total_excluding_tax",))
class SubtotalExcludingTaxZero(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            if inv.get("subtotal"):
                inv["subtotal_excluding_tax"] = 0
        return body


@relation_fault("total_adds_phantom_tax", "amounts.total", "`total` adds 8% tax that `total_taxes` does not show",
                also=("amounts.amount_due",))
class TotalAddsPhantomTax(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            if inv.get("total"):
                inv["total"] += max(1, inv["total"] * 8 // 100)
        return body


@relation_fault("total_excluding_tax_without_shipping", "amounts.total_excluding_tax",
                "`total_excluding_tax` leaves out the shipping cost", also=("amounts.amount_due",))
class TotalExcludingTaxWithoutShipping(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            if inv.get("amount_shipping"):
                inv["total_excluding_tax"] -= inv["amount_shipping"]
                inv["total"] -= inv["amount_shipping"]
        return body


@relation_fault("amount_shipping_zero", "amounts.amount_shipping",
                "`amount_shipping` is 0 although `shipping_cost` is set", also=("amounts.total_excluding_tax",))
class AmountShippingZero(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            inv["amount_shipping"] = 0
        return body


@relation_fault("starting_balance_not_applied", "amounts.amount_due",
                "drafts show a starting_balance of 500 that `amount_due` ignores")
class StartingBalanceNotApplied(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            if inv.get("status") == "draft" and inv.get("ending_balance") is None:
                inv["starting_balance"] = 500
        return body


@relation_fault("paid_with_nothing_paid", "amounts.paid_in_full",
                "paid invoices say `amount_paid` 0 (and nothing remaining)", also=("amounts.amount_remaining",),
                extra=r"amount|paid|model")
class PaidWithNothingPaid(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            if inv.get("status") == "paid" and inv.get("amount_due"):
                inv["amount_paid"] = 0
        return body


@relation_fault("ending_balance_on_drafts", "amounts.ending_balance", "drafts report `ending_balance` 0, not null")
class EndingBalanceOnDrafts(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for inv in _every(body, "invoice"):
            if inv.get("status") == "draft":
                inv["ending_balance"] = inv.get("starting_balance") or 0
        return body


@relation_fault("line_amount_ignores_quantity", "amounts.line_amount",
                "lines and items priced per unit show the unit amount, whatever the quantity",
                also=("amounts.subtotal",))
class LineAmountIgnoresQuantity(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for kind in ("line_item", "invoiceitem"):
            for obj in _every(body, kind):
                unit = (obj.get("pricing") or {}).get("unit_amount_decimal")
                if unit is not None and (obj.get("quantity") or 1) > 1:
                    obj["amount"] = int(float(unit))
                    if kind == "line_item":
                        obj["subtotal"] = obj["amount"]
        return body


@relation_fault("line_subtotal_in_major_units", "amounts.line_subtotal",
                "a line's `subtotal` is in dollars, not cents")
class LineSubtotalInMajorUnits(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for line in _every(body, "line_item"):
            if line.get("subtotal"):
                line["subtotal"] //= 100
        return body


@fault("payment_not_recorded", "lifecycle", "paying an invoice creates no invoice payment", "lifecycle",
       finding=Recognise(r"payment", ("*/v1/invoice*", "invoice *")))
class PaymentNotRecorded(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        result = handler(ctx)
        if _op(req) == "PayInvoice":
            payments = ctx.account.collection("invoice_payment")
            for payment in list(payments.newest_first()):
                if payment["invoice"] == ctx.path["invoice"]:
                    payments.remove(payment["id"])
        return result


@fault("cancel_canceled_session", "lifecycle", "a canceled verification session can be canceled again", "lifecycle",
       finding=Recognise(r"cancel", ("POST /v1/identity/*",)))
class CancelCanceledSession(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if _op(req) == "CancelIdentityVerificationSession":
            session = ctx.account.collection("identity.verification_session").get(ctx.path["session"])
            if session is not None and session["status"] == "canceled":
                return session
        return handler(ctx)


@fault("archive_archived_template", "lifecycle", "archiving an archived template is accepted", "lifecycle",
       finding=Recognise(r"archiv", ("POST /v1/invoice_rendering_templates/*",)))
class ArchiveArchivedTemplate(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if _op(req) == "ArchiveInvoiceRenderingTemplate":
            template = ctx.account.collection("invoice_rendering_template").get(ctx.path["template"])
            if template is not None and template["status"] == "archived":
                return template
        return handler(ctx)


# -- long sequences: bugs that only a run of several actions on one object reaches ------------------------------


@fault("unarchive_cycle_not_stored", "long sequences",
       "a template's second unarchive answers `active` but leaves it archived (archive, unarchive, archive, unarchive)",
       "lifecycle", finding=Recognise(r"archive|status", ("*invoice_rendering_templates*",)))
class UnarchiveCycleNotStored(Hooks):
    def __init__(self) -> None:
        self.unarchived: dict[str, int] = {}

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if _op(req) != "UnarchiveInvoiceRenderingTemplate":
            return handler(ctx)
        template = ctx.account.collection("invoice_rendering_template").get(ctx.path["template"])
        answer = copy.deepcopy(handler(ctx))
        if template is not None:
            count = self.unarchived[template["id"]] = self.unarchived.get(template["id"], 0) + 1
            if count >= 2:
                template["status"] = "archived"
        return answer


@fault("unsubscribe_cycle_ignored", "long sequences",
       "an account's second effective unsubscribe (after a resubscribe) keeps `transactions` subscribed",
       "lifecycle", finding=Recognise(r"subscri", ("*financial_connections*",)))
class UnsubscribeCycleIgnored(Hooks):
    def __init__(self) -> None:
        self.unsubscribed: dict[str, int] = {}

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if _op(req) != "UnsubscribeFinancialConnectionsAccount":
            return handler(ctx)
        account = ctx.account.collection("financial_connections.account").get(ctx.path["account"])
        subscribed = account is not None and "transactions" in (account.get("subscriptions") or [])
        if not subscribed or "transactions" not in (req.params.get("features") or []):
            return handler(ctx)
        count = self.unsubscribed[account["id"]] = self.unsubscribed.get(account["id"], 0) + 1
        return account if count >= 2 else handler(ctx)


_AMOUNTS = ("subtotal", "subtotal_excluding_tax", "total", "total_excluding_tax", "amount_due", "amount_remaining")


@fault("amounts_stale_after_third_add", "long sequences",
       "from an invoice's third add_lines call on, the lines are stored but its amounts keep their old values",
       "lifecycle", finding=Recognise(r"subtotal|amount", ("*invoice*",)))
class AmountsStaleAfterThirdAdd(Hooks):
    def __init__(self) -> None:
        self.adds: dict[str, int] = {}

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        inv = _invoice(ctx)
        if _op(req) != "AddInvoiceLines" or inv is None:
            return handler(ctx)
        before = {key: inv.get(key) for key in _AMOUNTS}
        result = handler(ctx)
        count = self.adds[inv["id"]] = self.adds.get(inv["id"], 0) + 1
        if count >= 3:
            for target in (inv, result):
                if isinstance(target, dict) and target.get("id") == inv["id"]:
                    target.update(before)
        return result


# -- read-after-write and deletion -----------------------------------------------------------------------------


@fault("update_dropped", "read-after-write", "updates answer with the change but do not store it",
       "properties",
       finding=Recognise(READ_BACK, categories=(INVARIANT, CONTRACT)))
class UpdateDropped(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if not _op(req).startswith("Update") or not ctx.path:
            return handler(ctx)
        stored = ctx.account.find(next(iter(ctx.path.values())))
        before = copy.deepcopy(stored)
        answer = copy.deepcopy(handler(ctx))
        if stored is not None and before is not None:
            stored.clear()
            stored.update(before)
        return answer


@fault("stale_read", "read-after-write", "retrieve serves the first version it ever served", "properties",
       finding=Recognise(READ_BACK, categories=(INVARIANT, CONTRACT)))
class StaleRead(Hooks):
    def __init__(self) -> None:
        self.cache: dict[str, Any] = {}

    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        if _op(req).startswith("Retrieve") and isinstance(body, dict) and "id" in body:
            return copy.deepcopy(self.cache.setdefault(body["id"], body))
        return body


@fault("deleted_still_retrievable", "deletion", "a deleted invoice can still be retrieved", "properties",
       finding=Recognise(r"delet", ("*/v1/invoice*",)))
class DeletedStillRetrievable(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if _op(req) not in ("DeleteInvoice", "DeleteInvoiceItem"):
            return handler(ctx)
        kind = "invoice" if _op(req) == "DeleteInvoice" else "invoiceitem"
        obj = ctx.account.collection(kind).get(next(iter(ctx.path.values())))
        result = handler(ctx)
        if obj is not None:
            ctx.account.collection(kind).add(obj)
        return result


@fault("deleted_still_listed", "deletion", "deleted invoice items still appear in lists", "properties",
       finding=Recognise(r"no longer listed|delet|another account's objects|expand\[\]", ("*/v1/invoiceitems*",)))
class DeletedStillListed(Hooks):
    def __init__(self) -> None:
        self.deleted: dict[str, dict] = {}

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if _op(req) == "DeleteInvoiceItem":
            obj = ctx.account.collection("invoiceitem").get(ctx.path["invoiceitem"])
            result = handler(ctx)
            if obj is not None:
                self.deleted[obj["id"]] = copy.deepcopy(obj)
            return result
        return handler(ctx)

    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        if _op(req) == "ListInvoiceItems":
            customer = req.params.get("customer")
            ghosts = [o for o in self.deleted.values() if customer in (None, o["customer"])]
            body["data"] = (ghosts + body["data"])[: req.params.get("limit", 10)]
        return body


# -- idempotency, expand, search ---------------------------------------------------------------------------------


@fault("idempotency_ignored", "idempotency", "Idempotency-Key is ignored: a replay creates a second object",
       "properties",
       finding=Recognise(r"replay", ("POST /v1/*",)))
class IdempotencyIgnored(Hooks):
    async def before(self, req: Request) -> Response | None:
        req.headers.pop("idempotency-key", None)
        return None


@fault("idempotency_mismatch_not_detected", "idempotency", "a key reused with other parameters is not refused",
       "properties",
       finding=Recognise(r"reusing a key|idempot", ("POST /v1/*",)))
class IdempotencyMismatchNotDetected(Hooks):
    def after_validation(self, req: Request) -> None:
        key = req.headers.get("idempotency-key")
        stored = req.account.idempotency.get(key) if key and req.account is not None else None
        if stored is not None and stored.fingerprint != idempotency.fingerprint(req):
            req.headers.pop("idempotency-key", None)  # a different request: served as new, key forgotten


@fault("expand_ignored", "expand", "`expand[]` is ignored", "properties",
       finding=Recognise(r"expand"))
class ExpandIgnored(Hooks):
    def after_validation(self, req: Request) -> None:
        req.params.pop("expand", None)


@fault("search_ignores_second_clause", "search", "search only applies the first clause of a query", "properties",
       finding=Recognise(r"search|query", ("GET /v1/invoices/search",)))
class SearchIgnoresSecondClause(Hooks):
    def after_validation(self, req: Request) -> None:
        if _op(req) == "SearchInvoices":
            try:
                query = parse(req.params["query"])
            except QuerySyntaxError:
                return
            if len(query.clauses) > 1:
                req.params["query"] = str(type(query)(query.clauses[:1], query.conjunction))


@fault("search_substring_is_prefix", "search", "the matcher treats `field~\"text\"` as a prefix match", "properties",
       finding=Recognise(r"search|query", ("GET /v1/invoices/search",)))
class SearchSubstringIsPrefix(Hooks):
    """A bug inside the query matcher itself: only an oracle with its own model of the language can see it."""

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        if _op(req) != "SearchInvoices":
            return handler(ctx)
        correct = search_query._positive_match

        def prefix_only(op: str, expected: Any, actual: Any) -> bool:
            if op == "~" and isinstance(expected, str) and isinstance(actual, str):
                return actual.startswith(expected)
            return correct(op, expected, actual)

        search_query._positive_match = prefix_only  # one event loop: no other request runs meanwhile
        try:
            return handler(ctx)
        finally:
            search_query._positive_match = correct


# -- isolation and auth --------------------------------------------------------------------------------------------


@fault("cross_account_read", "isolation", "another account's objects can be retrieved by ID", "security",
       finding=Recognise(r"another account"))
class CrossAccountRead(Hooks):
    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        try:
            return handler(ctx)
        except ApiError as exc:
            if exc.status != 404 or not _op(req).startswith("Retrieve"):
                raise
            for account in list(ctx.store.accounts.values()):
                found = account.find(next(iter(ctx.path.values()), ""))
                if found is not None:
                    return found
            raise


@fault("cross_account_list", "isolation", "lists also show another account's newest invoice", "security",
       finding=Recognise(r"another account|lists never", LISTS))
class CrossAccountList(Hooks):
    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        if _op(req) == "ListInvoices":
            for account in list(ctx.store.accounts.values()):
                if account is not ctx.account:
                    newest = next(account.collection("invoice").newest_first(), None)
                    if newest is not None:
                        body["data"] = [copy.deepcopy(newest), *body["data"]][: req.params.get("limit", 10)]
                        break
        return body


@fault("auth_not_required", "auth", "requests without an API key are served (as a default account)", "security",
       finding=Recognise(r"without an api key"))
class AuthNotRequired(Hooks):
    def on_auth_error(self, req: Request, error: ApiError) -> str:
        if "authorization" not in req.headers:
            return "sk_test_default_account"
        raise error


@fault("malformed_key_accepted", "auth", "any Bearer value is accepted as a key", "security",
       finding=Recognise(r"malformed api key"))
class MalformedKeyAccepted(Hooks):
    def on_auth_error(self, req: Request, error: ApiError) -> str:
        value = req.headers.get("authorization", "")
        if value:
            return "sk_test_" + "".join(ch for ch in value if ch.isalnum())[:40]
        raise error


# -- shallow defects of real implementations: they touch every answer or whole operations ----------------------


@fault("no_request_id_anywhere", "headers", "no answer carries a Request-Id header", "conformance",
       finding=Recognise(r"request-id", categories=(CONTRACT,)))
class NoRequestIdAnywhere(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        resp.headers["request-id"] = ""
        return resp


@fault("error_without_code_and_param", "error shape", "error objects carry neither `code` nor `param`", "negative",
       finding=Recognise(r"error\.(param|code)|offending param|error schema", categories=(CONTRACT,)))
class ErrorWithoutCodeAndParam(Hooks):
    def before_send(self, req: Request, resp: Response) -> Response:
        if 400 <= resp.status < 500 and isinstance(resp.body, dict) and isinstance(resp.body.get("error"), dict):
            resp.body["error"].pop("code", None)
            resp.body["error"].pop("param", None)
        return resp


class _Unimplemented(Hooks):
    """Operations the server does not implement: it answers them as it answers a path it does not serve."""

    missing: frozenset[str] = frozenset()
    plain_text = False  # True: the server's answer for an unserved path is a text/plain 404 (not Stripe's JSON)

    def __init__(self) -> None:
        from contracts.loader import load_contract

        self.contract = load_contract()

    async def before(self, req: Request) -> Response | None:
        found = self.contract.match(req.method, req.path)
        if found is None and self.plain_text and req.path != "/v1/__health__":
            return Response(404, b"404 page not found", {"content-type": "text/plain; charset=utf-8"})
        if found is None or found[0].operation_id not in self.missing:
            return None
        if self.plain_text:
            return Response(404, b"404 page not found", {"content-type": "text/plain; charset=utf-8"})
        raise ApiError(404, f"Unrecognized request URL ({req.method}: {req.path}).")


DOZEN_MISSING = frozenset({
    "CreateInvoicePreview", "SearchInvoices", "AttachInvoicePayment", "UpdateInvoiceLines", "RemoveInvoiceLines",
    "SendInvoice", "RefreshFinancialConnectionsAccount", "SubscribeFinancialConnectionsAccount",
    "UnsubscribeFinancialConnectionsAccount", "RedactIdentityVerificationSession",
    "UnarchiveInvoiceRenderingTemplate", "UpdateIssuingAuthorization"})

# A fake that implements invoices and invoice items only (14 of the 50 operations).
FOURTEEN_IMPLEMENTED = frozenset({
    "ListInvoices", "CreateInvoice", "RetrieveInvoice", "UpdateInvoice", "DeleteInvoice", "FinalizeInvoice",
    "PayInvoice", "VoidInvoice", "MarkInvoiceUncollectible", "ListInvoiceLines", "ListInvoiceItems",
    "CreateInvoiceItem", "RetrieveInvoiceItem", "DeleteInvoiceItem"})


def _seed_operation_ids() -> frozenset[str]:
    from contracts.loader import load_contract

    return frozenset(op.operation_id for op in load_contract().seed_operations)


@fault("dozen_operations_unimplemented", "capabilities", "12 operations answer `Unrecognized request URL` (404)",
       "conformance",
       finding=Recognise(r"implemented", categories=(MISSING,), expect=len(DOZEN_MISSING)))
class DozenOperationsUnimplemented(_Unimplemented):
    missing = DOZEN_MISSING


@fault("only_invoices_implemented", "capabilities", "36 operations are missing (text/plain 404 for every path "
       "the server does not serve); only invoices and invoice items exist", "conformance",
       finding=Recognise(r"implemented", categories=(MISSING,), expect=50 - len(FOURTEEN_IMPLEMENTED)))
class OnlyInvoicesImplemented(_Unimplemented):
    plain_text = True

    def __init__(self) -> None:
        super().__init__()
        self.missing = _seed_operation_ids() - FOURTEEN_IMPLEMENTED


@fault("invoice_currency_server_error", "recipes", "creating an invoice with the documented `currency` is a 500",
       "conformance",
       finding=Recognise(r"5xx|server error", ("POST /v1/invoices",), (SERVER,)))
class InvoiceCurrencyServerError(Hooks):
    def after_validation(self, req: Request) -> None:
        if _op(req) == "CreateInvoice" and "currency" in req.params:
            raise ApiError(500, "Internal server error", type="api_error")


@fault("card_token_refused", "recipes", "payment methods refuse the documented `card[token]`", "conformance",
       finding=Recognise(r"documented", ("POST /v1/payment_methods",), (CONTRACT,)))
class CardTokenRefused(Hooks):
    def after_validation(self, req: Request) -> None:
        card = req.params.get("card")
        if _op(req) == "CreatePaymentMethod" and isinstance(card, dict) and "token" in card:
            raise ApiError(400, "Received unknown parameter: card[token]", code="parameter_unknown",
                           param="card[token]")


# Faults that are never planted together by `python -m harness.faultmatrix --multi`: one overrides the other, or
# their findings are the same (no scorer could tell which of them a finding came from).
INDISTINGUISHABLE: tuple[frozenset[str], ...] = (
    frozenset({"has_more_always_false", "has_more_always_true"}),
    frozenset({"no_request_id", "no_request_id_anywhere"}),
    frozenset({"error_without_param", "error_without_code_and_param"}),
    frozenset({"missing_required_accepted", "unknown_parameter_accepted", "bad_enum_accepted",
               "limit_out_of_range_accepted", "metadata_limits_not_enforced"}),
    frozenset({"search_ignores_second_clause", "search_substring_is_prefix"}),
    frozenset({"update_dropped", "stale_read"}),
    frozenset({"deleted_still_retrievable", "delete_open_invoice"}),
    # With `limit` ignored every list fits one page (up to 100 objects), so no page boundary is left where a wrong
    # has_more or cursor could show.
    frozenset({"limit_ignored", "has_more_always_false"}),
    frozenset({"limit_ignored", "cursor_off_by_one"}),
    frozenset({"limit_ignored", "ending_before_ignored"}),
    # Both rewrite an encoded slash before routing (the first planted wins); a change made by a refused request is
    # the same finding whichever request made it.
    frozenset({"path_normalised", "id_cut_at_encoded_slash"}),
    frozenset({"expand_checked_after_acting", "id_cut_at_encoded_slash"}),
)


# -- robustness: what a client sends must never cause a 5xx, a stall or a half-saved change ----------------------

_HUGE_INDEX = re.compile(rb"\[[0-9]{4301,}\]|%5B[0-9]{4301,}%5D", re.IGNORECASE)
SLOW_DECIMAL_SECONDS = 6.0


def _leaf_name(param: str) -> str:
    """`lines[0][amount]` -> `amount`."""
    return param.rstrip("]").rsplit("[", 1)[-1]


def _raw_at(raw: Any, param: str) -> tuple[Any, Any] | None:
    """(container, key) holding the value a bracketed param names in decoded (not yet validated) params."""
    steps = [s.rstrip("]") for s in param.split("[")]
    node = raw
    for step in steps[:-1]:
        key: Any = int(step) if isinstance(node, list) and step.isdigit() else step
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    last: Any = int(steps[-1]) if isinstance(node, list) and steps[-1].isdigit() else steps[-1]
    return (node, last) if isinstance(node, (dict, list)) else None


class _AcceptOutOfRange(Hooks):
    """Accept a value the contract's bounds refuse for the named fields, coerced the naive way."""

    fields: tuple[str, ...] = ()

    def coerce(self, value: str) -> Any:
        return value

    def on_param_error(self, req: Request, error: ParamError, raw: dict) -> dict:
        op = req.operation
        found = _raw_at(raw, error.param) if _leaf_name(error.param) in self.fields else None
        if op is None or found is None or not isinstance(found[0][found[1]], str):
            raise error
        container, key = found
        value = container[key]
        container[key] = "1"  # stands in while the rest is validated
        params = validate(raw, op.request_schema)
        placed = _raw_at(params, error.param)
        if placed is None:
            raise error
        placed[0][placed[1]] = self.coerce(value)
        return params


@fault("overflow_saved_then_500", "robustness", "an amount beyond 64 bits is stored, then the answer is a 500 "
       "(and every later list of that account too)", "robustness",
       finding=Recognise(r"5xx|outside the field's bounds|" + LENIENT, categories=(SERVER, CONTRACT)))
class OverflowSavedThen500(_AcceptOutOfRange):
    fields = ("amount",)

    def coerce(self, value: str) -> Any:
        return int(value) if value.lstrip("-").isdigit() and len(value) < 4300 else value

    def atomic(self, req: Request) -> bool:
        return False  # the half-saved change is the bug


@fault("slow_decimal", "robustness", "a decimal with a huge exponent is accepted and takes seconds to compute",
       "robustness", finding=Recognise(r"within 5 s|outside the field's bounds|" + LENIENT,
                                      categories=(SERVER, CONTRACT)))
class SlowDecimal(_AcceptOutOfRange):
    fields = ("unit_amount_decimal", "quantity_decimal")

    def coerce(self, value: str) -> Any:
        if "e" in value.lower():
            # what int(Decimal("1e999999")) costs, without waiting a minute: the whole server stalls
            time.sleep(SLOW_DECIMAL_SECONDS)
        return "1"


@fault("index_value_error", "robustness", "an array index of more than 4,300 digits is a 500 (int() limit)",
       "negative", finding=Recognise(r"5xx", categories=(SERVER,)))
class IndexValueError(Hooks):
    async def before(self, req: Request) -> Response | None:
        if _HUGE_INDEX.search(req.query) or _HUGE_INDEX.search(req.body):
            int("9" * 4301)  # ValueError: Exceeds the limit (4300 digits) for integer string conversion
        return None


@fault("path_normalised", "robustness", "paths are normalised before routing: `%2F` splits an ID, a trailing or "
       "double `/` is ignored", "robustness",
       finding=Recognise(r"encoded slash|empty segment|changes nothing", categories=(CONTRACT, INVARIANT)))
class PathNormalised(Hooks):
    async def before(self, req: Request) -> Response | None:
        path = unquote_to_bytes(req.raw_path).decode("utf-8", "replace")
        path = "/" + "/".join(seg for seg in path.split("/") if seg)
        req.raw_path, req.path = path.encode(), path
        return None


@fault("id_cut_at_encoded_slash", "robustness", "a path ID is cut at an encoded slash (`in_X%2Fvoid` is `in_X`): "
       "the request acts on that object, yet the answer is the 404 of an unknown URL", "robustness",
       finding=Recognise(r"changes nothing", categories=(INVARIANT,)))
class IdCutAtEncodedSlash(Hooks):
    async def before(self, req: Request) -> Response | None:
        raw = req.raw_path.decode("latin-1")
        if "%2f" not in raw.lower():
            return None
        path = "/".join(re.split("%2f", segment, maxsplit=1, flags=re.IGNORECASE)[0] for segment in raw.split("/"))
        req.headers["x-fault-odd-path"] = raw
        req.raw_path, req.path = path.encode("latin-1"), path
        return None

    def before_send(self, req: Request, resp: Response) -> Response:
        raw = req.headers.get("x-fault-odd-path")
        if raw is None:
            return resp
        return Response.from_error(ApiError(404, f"Unrecognized request URL ({req.method}: {raw})."))


@fault("expand_checked_after_acting", "robustness", "`expand` is checked after the handler acted: a refused "
       "request has already changed the object", "negative",
       finding=Recognise(r"changes nothing", categories=(CONTRACT, INVARIANT)))
class ExpandCheckedAfterActing(Hooks):
    def after_validation(self, req: Request) -> None:
        if "expand" in req.params:
            req.headers["x-fault-expand"] = "\n".join(req.params.pop("expand"))

    def atomic(self, req: Request) -> bool:
        return "x-fault-expand" not in req.headers

    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        paths = req.headers.get("x-fault-expand")
        if paths is None or req.operation is None or req.account is None:
            return body
        return expand(ctx.contract, req.account, body, req.operation.responses["200"], paths.split("\n"))


@fault("idempotency_key_length_unchecked", "robustness", "an empty or over-long Idempotency-Key is accepted "
       "(and ignored)", "negative", finding=Recognise(LENIENT, ("POST /v1/*",), (CONTRACT, INVARIANT)))
class IdempotencyKeyLengthUnchecked(Hooks):
    async def before(self, req: Request) -> Response | None:
        key = req.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= 255:
            del req.headers["idempotency-key"]
        return None


@fault("duplicate_authorization_last_wins", "robustness", "with two Authorization headers the last one is used",
       "robustness", finding=Recognise(r"two Authorization headers", categories=(CONTRACT, INVARIANT)))
class DuplicateAuthorizationLastWins(Hooks):
    async def before(self, req: Request) -> Response | None:
        req.repeated = tuple(name for name in req.repeated if name != "authorization")
        return None


def fault_hooks(names: list[str]) -> list[Hooks]:
    hooks = []
    for name in names:
        for part in name.split(","):
            part = part.strip()
            if not part:
                continue
            if part not in CATALOGUE:
                raise ValueError(f"unknown fault {part!r}; `python -m mockserver --fault list` shows the catalogue")
            hooks.append(CATALOGUE[part].hooks())
    return hooks


def removed_operations(fault: Fault) -> frozenset[str]:
    """The operationIds a fault makes unavailable (its hooks' ``missing`` set; empty for most faults)."""
    missing = getattr(fault.hooks, "missing", None)
    if missing is not None and not missing:  # the set is built when the fault is (e.g. from the contract)
        missing = getattr(fault.hooks(), "missing", None)
    return frozenset(missing or ())


def catalogue_data() -> dict[str, Any]:
    """The catalogue as JSON-ready data, what `python -m mockserver --fault list --json` prints::

        {"faults": [{"name", "family", "breaks", "caught_by", "finding": Recognise.to_dict() | null,
                     "removes": [operationId, ...]}, ...],
         "indistinguishable": [[name, ...], ...]}
    """
    faults = [{"name": f.name, "family": f.family, "breaks": f.breaks, "caught_by": f.caught_by,
               "finding": f.finding.to_dict() if f.finding is not None else None,
               "removes": sorted(removed_operations(f))} for f in CATALOGUE.values()]
    return {"faults": faults, "indistinguishable": [sorted(group) for group in INDISTINGUISHABLE]}


def describe_catalogue() -> str:
    width = max(len(name) for name in CATALOGUE)
    lines = [f"{len(CATALOGUE)} planted faults (name, family, caught by, what it breaks):"]
    for f in CATALOGUE.values():
        lines.append(f"  {f.name:<{width}}  {f.family:<16} {f.caught_by:<12} {f.breaks}")
    return "\n".join(lines)
