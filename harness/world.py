"""Objects the suites need on the target, in the states they need, created through the API.

`World.fresh("invoice:open")` makes a new open invoice; `World.shared("customer")` reuses one.

Real implementations differ in how an object can be made, so each kind has several *recipes* (`RECIPES`), tried in
order; the first that works on the target is remembered and tried first for the rest of the session. For example
a draft invoice can be an empty draft with or without ``currency``, or be made from a pending invoice item with
``pending_invoice_items_behavior=include``; a payment method can come from ``card[token]=tok_visa``, from a raw
test card number, or be Stripe's ``pm_card_visa`` test ID.

On the way, what the target does wrong is a finding of its own, recorded once, never a failure of the test that
happened to need the object: a 5xx (`Category.SERVER_ERROR`), or a 4xx refusing a parameter the contract documents
for that operation (`Category.CONTRACT`). Recipes that need an operation capability discovery found missing are
passed over. When no recipe works the world falls back to IDs from the ``--harness-config`` file, then to objects
found through list endpoints, and otherwise skips the test with a reason naming what the target refused; a kind
that could not be made is not tried again in the session.

Every request the world sends goes through `World.send`, and every create's parameters through
`World.create_params`: the one place to add what all created objects should carry (e.g. tagging metadata).
"""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from contracts.loader import Contract, fill_path, load_contract
from harness import plans
from harness.client import ApiClient, PlannedRequest, Response
from harness.findings import ANY_OPERATION, Category, CheckFailed, Finding, current_test, record, refused_request
from harness.plans import Plan
from harness.runinfo import TAG_KEY

REFUSAL_CODES = ("parameter_unknown", "parameter_invalid", "parameter_invalid_empty", "parameter_invalid_integer",
                 "parameter_invalid_string_blank", "parameter_invalid_string_empty")


class Unavailable(Exception):
    """The target cannot provide an object of this kind (message names the capability and the config key)."""


class RecipeFailed(Exception):
    """One recipe did not work on the target (message: which request, what the target answered)."""


class _NotSideBySide(Exception):
    """A recipe marked `Recipe.alone` came up while objects were made side by side (the batch drops that one)."""


NOT_AHEAD = frozenset({"invoiceitem:pending"})
"""Kinds never made ahead: requests on other objects change them (a new invoice of the customer with
``pending_invoice_items_behavior=include`` takes in its pending items), so one must be used as soon as it is made."""

AHEAD = 4
"""Most objects of one kind `World.fresh(..., ahead=True)` makes side by side (at most the client's concurrency in
flight): a test of 15 examples makes them in batches of 1, 2, 4, 4 and 4, and leaves at most 3 unused."""


_counter = itertools.count(1)
# Tells this process's tags from those of the other workers of a run, and of other runs, on a shared target.
_PROCESS_TAG = secrets.token_hex(3)


@dataclass(frozen=True)
class Recipe:
    """One way of making an object: a name people read in skip reasons, and the `World` method that makes it."""

    name: str
    make: str  # name of a World method taking no arguments and returning the object's `Plan`
    alone: bool = False
    """The recipe uses state every object of the shared customer shares (its pending invoice items, which a new
    invoice with ``pending_invoice_items_behavior=include`` sweeps in): never run side by side with another."""


# kind -> the ways to make it, in the order they are tried (Stripe's documented way first).
RECIPES: dict[str, tuple[Recipe, ...]] = {
    "customer": (Recipe("customer with email and name", "_customer_named"),
                 Recipe("customer without parameters", "_customer_bare")),
    "payment_method": (Recipe("card[token]=tok_visa", "_payment_method_token"),
                       Recipe("raw test card number 4242 4242 4242 4242", "_payment_method_card_number"),
                       Recipe("the pm_card_visa test payment method ID", "_payment_method_test_id")),
    "product": (Recipe("product with a name", "_product"),),
    "invoice:draft": (Recipe("empty draft with currency", "_draft_with_currency"),
                      Recipe("empty draft without currency", "_draft_without_currency"),
                      Recipe("draft from a pending invoice item (pending_invoice_items_behavior=include)",
                             "_draft_from_pending_item", alone=True)),
    "invoice:draft_with_lines": (Recipe("draft plus add_lines", "_lines_by_add_lines"),
                                 Recipe("draft plus invoice items naming it (invoiceitems invoice=)",
                                        "_lines_by_invoice_items"),
                                 Recipe("draft from pending invoice items (pending_invoice_items_behavior=include)",
                                        "_lines_by_pending_items", alone=True)),
    "invoice:open": (Recipe("draft with lines, finalized", "_open"),),
    "invoice:paid": (Recipe("open invoice paid out of band", "_paid_out_of_band"),
                     Recipe("open invoice paid with a test card", "_paid_with_card")),
    "invoice:void": (Recipe("open invoice, voided", "_void"),),
    "invoice:uncollectible": (Recipe("open invoice, marked uncollectible", "_uncollectible"),),
    # The same states with collection_method=send_invoice (only those can be sent: rule invoice.send.*).
    "invoice:draft:send_invoice": (Recipe("draft switched to send_invoice", "_draft_send_invoice"),),
    "invoice:draft_with_lines:send_invoice": (Recipe("draft with lines switched to send_invoice",
                                                     "_draft_with_lines_send_invoice"),),
    "invoice:open:send_invoice": (Recipe("send_invoice draft with lines, finalized", "_open_send_invoice"),),
    "invoice:paid:send_invoice": (Recipe("open send_invoice invoice paid out of band", "_paid_send_invoice"),),
    "invoice:void:send_invoice": (Recipe("open send_invoice invoice, voided", "_void_send_invoice"),),
    "invoice:uncollectible:send_invoice": (Recipe("open send_invoice invoice, marked uncollectible",
                                                  "_uncollectible_send_invoice"),),
    "invoiceitem:pending": (Recipe("pending invoice item with amount and currency", "_pending_item"),),
    "invoice_payment": (Recipe("the payment of a paid invoice", "_invoice_payment"),),
    "payment_intent:succeeded": (Recipe("confirmed payment intent with pm_card_visa", "_payment_intent"),),
    "identity.verification_session:requires_input": (Recipe("document verification session", "_verification_session"),),
    "identity.verification_session:verified": (Recipe("session verified by the test helper", "_verified_session"),),
    "identity.verification_report": (Recipe("report of a verified session", "_verification_report"),),
    "invoice_rendering_template:active": (Recipe("template from the test helper", "_template"),),
    "invoice_rendering_template:archived": (Recipe("template, archived", "_archived_template"),),
    "financial_connections.account": (Recipe("account from the test helper", "_fc_account"),),
    "financial_connections.session": (Recipe("session for the shared customer", "_fc_session"),),
    "financial_connections.transaction": (Recipe("a transaction of the shared account", "_fc_transaction"),),
    "forwarding.request": (Recipe("forwarding request for the shared payment method", "_forwarding_request"),),
    "issuing.cardholder": (Recipe("individual cardholder with a billing address", "_issuing_cardholder"),),
    "issuing.card": (Recipe("active virtual card of the shared cardholder", "_issuing_card"),),
    "issuing.authorization": (Recipe("Stripe's test helper on a card of ours (card=)",
                                     "_issuing_authorization_on_card"),
                              Recipe("the test helper without a card (mock only)", "_issuing_authorization")),
}


class World:
    """The objects of one worker's tests, by kind: the contract's object name, plus ``:state`` where a state matters
    (``"customer"``, ``"invoice:open"``, ``"invoice:paid:send_invoice"``, ``"identity.verification_session:verified"``).
    """

    # Kinds a target may hold without the harness being able to make one there -> the list path whose first object
    # stands in for one (None: not listable without a filter). They are named in --harness-config by their object
    # name alone (`config_key`): a template named there is taken to be active.
    DISCOVERY: dict[str, str | None] = {
        "financial_connections.account": None,
        "issuing.authorization": "/v1/issuing/authorizations",
        "invoice_rendering_template:active": "/v1/invoice_rendering_templates",
        "identity.verification_report": "/v1/identity/verification_reports",
        "customer": "/v1/customers",
    }

    def __init__(self, api: ApiClient, config: dict | None = None, capabilities: Any = None,
                 contract: Contract | None = None, run_id: str | None = None):
        """`capabilities`: a `harness.discovery.Capabilities` (or anything with ``unavailable_reason(op_id)``);
        None treats every operation as available. `run_id`: tags every created object that has metadata
        (``metadata[harness_run]=run_id``), so the run's clean-up can find it."""
        self.api = api
        self.run_id = run_id
        self.config = config or {}
        self.capabilities = capabilities
        self.contract = contract or load_contract()
        self._shared: dict[str, dict] = {}
        self._chosen: dict[str, int] = {}  # kind -> index of the recipe that worked
        self._impossible: dict[str, str] = {}  # kind -> why nothing worked (not tried again)
        self._last: Response | None = None  # the last answer a recipe got
        self._making_side_by_side = False  # True while `_side_by_side` runs recipes
        self._ahead_test: str | None = None  # the test the objects made ahead belong to
        self._ahead: dict[str, list[dict]] = {}  # kind -> objects made ahead for that test, not handed out yet
        self._made_for_test: Counter[str] = Counter()  # kind -> objects handed to that test so far

    # -- public ---------------------------------------------------------------------------------------------

    def for_client(self, api: ApiClient) -> World:
        """A world of its own for another thread of the same test (`ApiClient.thread_sibling`): the same config,
        capabilities, contract and run ID, but its own shared objects and objects made ahead, so that the two
        threads never act on one object. It learns again which recipe works (a request or two per kind)."""
        return World(api, self.config, self.capabilities, self.contract, run_id=self.run_id)

    @classmethod
    def config_key(cls, kind: str) -> str:
        """The --harness-config key that names an existing object of `kind`: the object name for the kinds in
        `DISCOVERY` (``"invoice_rendering_template"`` for ``"invoice_rendering_template:active"``), else the kind."""
        return kind.split(":", 1)[0] if kind in cls.DISCOVERY else kind

    def fresh(self, kind: str, *, ahead: bool = False) -> dict:
        """A new object of `kind`, for a test that changes it.

        :param kind: a key of `RECIPES` (``"invoice:open"``).
        :param ahead: the caller takes one object per example and does not care in which order they were made:
            the world may make several side by side (`AHEAD` at most) and hand the others to this test's next
            calls. Never for a test that lists what it made in creation order.
        :returns: the object as the target answered it (a JSON dict with at least ``id``); when no recipe works, the
            object named in --harness-config (then only ``{"id": ...}``) or the first one its list endpoint returns.
        :raises KeyError: `kind` has no recipe (a bug in the caller).
        :raises pytest.skip.Exception: the target can make none and none is named or listed; the reason names what
            the target refused and the --harness-config key (`config_key`) that would name one.
        :raises CheckFailed: a recipe found the target breaking an invariant on the way (a finding).
        """
        try:
            return self._made_ahead(kind) if ahead else self.make(kind)
        except Unavailable as exc:
            found = self._discover(kind)
            if found is not None:
                return found
            key = self.config_key(kind)
            pytest.skip(f"cannot get a {kind} on this target: {exc}; name one in --harness-config as \"{key}\"")

    def shared(self, kind: str) -> dict:
        """One object of `kind` reused by every test of this worker, for read-only use; made by `fresh` on first use
        (same returns and errors)."""
        if kind not in self._shared:
            self._shared[kind] = self.fresh(kind)
        return self._shared[kind]

    def _reuse(self, kind: str) -> dict:
        """Like `shared`, but raising `Unavailable` instead of skipping, so the calling recipe can fall back."""
        if kind not in self._shared:
            self._shared[kind] = self.make(kind)
        return self._shared[kind]

    def make(self, kind: str) -> dict:
        """A new object of `kind` from the first recipe that works; raises `Unavailable` naming every refusal."""
        return plans.run(self.api, self._make(kind))

    def _make(self, kind: str) -> Plan[dict]:
        if kind not in RECIPES:
            raise KeyError(f"World has no recipe for {kind!r}; known: {', '.join(sorted(RECIPES))}")
        if kind in self._impossible:
            raise Unavailable(self._impossible[kind])
        recipes = RECIPES[kind]
        first = self._chosen.get(kind, 0)
        order = [first, *(i for i in range(len(recipes)) if i != first)]
        refusals = []
        for index in order:
            recipe = recipes[index]
            if recipe.alone and self._making_side_by_side:
                raise _NotSideBySide(recipe.name)
            try:
                obj = self._holds(kind, recipe, (yield from getattr(self, recipe.make)()))
            except (RecipeFailed, Unavailable) as exc:
                refusals.append(f"{recipe.name}: {exc}")
                continue
            self._chosen[kind] = index
            return obj
        self._impossible[kind] = "no recipe worked (" + "; ".join(refusals) + ")"
        raise Unavailable(self._impossible[kind])

    def fresh_many(self, kind: str, n: int) -> list[dict]:
        """`n` new objects of `kind`, as `fresh` makes them, side by side where it can (the first alone, if the kind
        is new to the session): for a test that needs several at once and no particular creation order (a list to
        page through). Same errors as `fresh`."""
        made: list[dict] = []
        while len(made) < n:
            made += self._side_by_side(kind, n - len(made)) or [self.fresh(kind)]
        return made

    def _made_ahead(self, kind: str) -> dict:
        """`make`, served from the objects this test's earlier calls made ahead.

        A kind's first object in the session is made alone (it picks the recipe and the shared objects it needs);
        after that each batch is one more than the objects the test has had so far, up to `AHEAD` (1, 2, 4, 4, ...),
        so a test of one example makes one object and one of fifteen makes fifteen in five round trips per request
        of the recipe. What a test leaves unused is forgotten when the next test asks (it may have been acted on
        since, by a list-driven test)."""
        test = current_test()
        if self._ahead_test != test:
            self._ahead_test, self._ahead, self._made_for_test = test, {}, Counter()
        stock = self._ahead.setdefault(kind, [])
        if not stock:
            stock += self._side_by_side(kind, min(AHEAD, self._made_for_test[kind] + 1))
        self._made_for_test[kind] += 1
        return stock.pop(0) if stock else self.make(kind)

    def _side_by_side(self, kind: str, n: int) -> list[dict]:
        """Up to `n` new objects of `kind`, their recipes run side by side (`harness.plans`, at most the client's
        concurrency in flight); none for a kind not made yet this session, a `NOT_AHEAD` kind or ``n < 2``, and
        fewer when a recipe failed or must run alone. A finding on the way is raised as `make` raises it."""
        if n < 2 or self.api.concurrency < 2 or kind in NOT_AHEAD or kind not in self._chosen:
            return []
        self._making_side_by_side = True
        try:
            outcomes = plans.run_side_by_side(self.api, [self._make(kind) for _ in range(n)])
        finally:
            self._making_side_by_side = False
        for outcome in outcomes:
            if isinstance(outcome.error, CheckFailed):
                raise outcome.error
        return [outcome.result for outcome in outcomes if outcome.error is None]

    def create(self, operation_id: str, *variants: dict[str, Any], what: str) -> dict:
        """A new object made by `operation_id` (a create without path parameters) with the first of `variants`
        (its params, the documented shape first) that the target accepts, for tests that need objects with
        their own parameters (a customer, metadata). Skips the test naming every refusal when none works; a
        5xx or a refused documented parameter is also recorded as a finding (see `send`)."""
        return self._create(operation_id, variants, what)[0]

    def create_many(self, operation_id: str, n: int, *variants: dict[str, Any], what: str) -> list[dict]:
        """`n` objects as `create` makes them (same skips and findings): the first alone, the others side by side
        with the variant the target accepted for it (at most the client's concurrency in flight), for a test that
        needs no particular creation order."""
        if n < 1:
            return []
        first, params = self._create(operation_id, variants, what)
        outcomes = plans.run_side_by_side(self.api, [self._send(operation_id, params=params, what=what)
                                                     for _ in range(n - 1)])
        return [first, *(outcome.result if outcome.error is None else self.create(operation_id, *variants, what=what)
                         for outcome in outcomes)]

    def _create(self, operation_id: str, variants: tuple[dict[str, Any], ...], what: str) -> tuple[dict, dict]:
        """`create`: the object and the variant it was made with."""
        refusals = []
        for params in variants:
            try:
                return self.send(operation_id, params=params, what=what), params
            except Unavailable as exc:
                pytest.skip(f"cannot make {what} on this target: {exc}")
            except RecipeFailed as exc:
                refusals.append(str(exc))
        pytest.skip(f"cannot make {what} on this target: " + "; ".join(refusals))

    def _holds(self, kind: str, recipe: Recipe, obj: dict) -> dict:
        """`obj` when it is what `kind` asks for; else a finding and `RecipeFailed`.

        Checked for invoices, whose moves Stripe documents (``invoice:open:send_invoice`` is an open invoice with
        collection_method=send_invoice): a target that answered every request of the recipe with a 2xx but ends
        elsewhere (an update it did not keep, a finalize that did not finalize) would otherwise hand the test an
        object in the wrong state, and the test would report the wrong defect.
        """
        object_name, _, state = kind.partition(":")
        if object_name != "invoice" or not state:
            return obj
        status, _, method = state.partition(":")
        wanted = {"status": "draft" if status == "draft_with_lines" else status, "collection_method": method or None}
        for field_name, value in wanted.items():
            if value is not None and obj.get(field_name) != value:
                last = self._last
                check = ("a retrieve after the update shows it (read-after-write)" if field_name != "status"
                         else "an action gives the status the transition table says")
                record(Finding(Category.INVARIANT, check, ANY_OPERATION, "",
                               f"{recipe.name}: every request answered 2xx, yet the invoice ends with {field_name}="
                               f"{obj.get(field_name)!r}, not {value!r}",
                               operations=[last.exchange.operation] if last else [],
                               raw=[last.exchange] if last else []))
                raise RecipeFailed(f"the invoice ended with {field_name}={obj.get(field_name)!r}, not {value!r}")
        return obj

    def recipe_in_use(self, kind: str) -> str | None:
        """The name of the recipe that worked for `kind` in this session, if one has."""
        index = self._chosen.get(kind)
        return None if index is None else RECIPES[kind][index].name

    def tag(self) -> str:
        """A short label for names, emails and references of made objects, unique across the processes and runs
        that share a target (``"h3fa9c21"``: a random part per process, then a counter): a test that lists the
        objects carrying its tag must find its own only, however many workers or CI jobs use the same server."""
        return f"h{_PROCESS_TAG}{next(_counter)}"

    def create_params(self, operation_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters of every create the world sends (one place to add what all its objects carry): the
        run's tag in `metadata`, where the operation takes metadata."""
        out = dict(params)
        body = self.contract[operation_id].body_schema or {}
        if self.run_id is not None and "metadata" in body.get("properties", {}):
            out["metadata"] = {**out.get("metadata", {}), TAG_KEY: self.run_id}
        return out

    def send(self, operation_id: str, path_params: dict[str, str] | None = None,
             params: dict[str, Any] | None = None, *, what: str) -> dict:
        """Send one request of a recipe and return the object; raises `Unavailable` when capability discovery
        found the operation missing, `RecipeFailed` (after recording a finding for a 5xx or a refused documented
        parameter) when the target did not do it."""
        return plans.run(self.api, self._send(operation_id, path_params, params, what=what))

    def _send(self, operation_id: str, path_params: dict[str, str] | None = None,
              params: dict[str, Any] | None = None, *, what: str) -> Plan[dict]:
        op = self.contract[operation_id]
        reason = self.capabilities.unavailable_reason(operation_id) if self.capabilities is not None else None
        if reason:
            raise Unavailable(reason)
        if op.method == "POST" and not op.path_params:
            params = self.create_params(operation_id, params or {})
        resp = self._last = yield PlannedRequest(op.method, fill_path(op.path, path_params or {}), params or None,
                                                 operation_id)
        if 200 <= resp.status < 300 and isinstance(resp.body, dict):
            return resp.body
        raise RecipeFailed(self._refusal(operation_id, resp, what))

    def _get(self, operation_id: str, params: dict[str, Any], **path_params: str) -> Plan[Response]:
        """A read a recipe makes itself sense of (its answer, whatever the status)."""
        op = self.contract[operation_id]
        return (yield PlannedRequest("GET", fill_path(op.path, path_params), params, operation_id))

    # -- refusals --------------------------------------------------------------------------------------------

    def _refusal(self, operation_id: str, resp: Response, what: str) -> str:
        op = self.contract[operation_id]
        error = resp.body.get("error") if isinstance(resp.body, dict) else None
        error = error if isinstance(error, dict) else {}
        said = error.get("message") or (resp.body[:120] if isinstance(resp.body, str) else "")
        summary = f"{op.label} answered {resp.status}" + (f" ({said})" if said else "")
        sent = resp.exchange.params
        param = error.get("param")
        if resp.status >= 500:
            record(refused_request(f"making {what}", resp))
        elif 400 <= resp.status < 500 and self._is_documented(op.request_schema, param, sent) \
                and (error.get("code") in REFUSAL_CODES or error.get("code") is None):
            finding = refused_request(f"making {what}, {op.label} refused {param}, a parameter the contract "
                                      "documents for it", resp)
            finding.signature = f"param={param} refused"
            finding.predicate = {"check": "documented_param_accepted", "kwargs": {"param": param}}
            record(finding)
        return summary

    @staticmethod
    def _is_documented(schema: dict, param: Any, sent: dict) -> bool:
        """True when `param` (Stripe's bracket form, ``card[token]``) was sent and the contract documents it."""
        if not isinstance(param, str) or not param:
            return False
        parts = [p for p in param.replace("]", "").split("[") if p]
        node: Any = schema
        value: Any = sent
        for part in parts:
            if part.isdigit():  # an array index: the schema's items, the value's element
                node = node.get("items", {}) if isinstance(node, dict) else {}
                value = value[int(part)] if isinstance(value, list) and int(part) < len(value) else None
                continue
            props = node.get("properties", {}) if isinstance(node, dict) else {}
            if part not in props:
                return False
            node = props[part]
            value = value.get(part) if isinstance(value, dict) else None
        return value is not None

    # -- discovery -----------------------------------------------------------------------------------------

    def _discover(self, kind: str) -> dict | None:
        key, list_path = self.config_key(kind), self.DISCOVERY.get(kind)
        if self.config.get(key):
            return {"id": self.config[key]}
        if list_path:
            resp = self.api.get(list_path, {"limit": 1})
            if resp.status == 200 and isinstance(resp.body, dict) and resp.body.get("data"):
                return resp.body["data"][0]
        return None

    # -- recipes: customers, payment methods, products -------------------------------------------------------
    # Each recipe is a `Plan`: it yields its requests (`_send`, `_get`, `_make` of what it builds on), so `make`
    # can send them one after another and `_side_by_side` run them beside copies of themselves.

    def _customer_named(self) -> Plan[dict]:
        tag = self.tag()
        return (yield from self._send("CreateCustomer", params={"email": f"{tag}@example.com",
                                                                "name": f"Harness {tag}"}, what="a customer"))

    def _customer_bare(self) -> Plan[dict]:
        return (yield from self._send("CreateCustomer", params={}, what="a customer"))

    def _payment_method_token(self) -> Plan[dict]:
        return (yield from self._send("CreatePaymentMethod", params={"type": "card", "card": {"token": "tok_visa"}},
                                      what="a payment method"))

    def _payment_method_card_number(self) -> Plan[dict]:
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        return (yield from self._send("CreatePaymentMethod", params={"type": "card", "card": card},
                                      what="a payment method"))

    def _payment_method_test_id(self) -> Plan[dict]:
        # Stripe accepts its test payment method IDs wherever a payment method is expected.
        yield from ()
        return {"id": "pm_card_visa", "object": "payment_method", "type": "card"}

    def _product(self) -> Plan[dict]:
        return (yield from self._send("CreateProduct", params={"name": f"Harness {self.tag()}"}, what="a product"))

    # -- recipes: invoices -----------------------------------------------------------------------------------

    def _customer_id(self) -> str:
        return self.shared("customer")["id"]

    def _draft_with_currency(self) -> Plan[dict]:
        return (yield from self._send("CreateInvoice", params={"customer": self._customer_id(), "currency": "usd"},
                                      what="a draft invoice"))

    def _draft_without_currency(self) -> Plan[dict]:
        return (yield from self._send("CreateInvoice", params={"customer": self._customer_id()},
                                      what="a draft invoice"))

    def _draft_from_pending_item(self, lines: int = 1) -> Plan[dict]:
        for n in range(lines):
            yield from self._pending_item(amount=1000 + 100 * n, description=f"line {n}")
        return (yield from self._send("CreateInvoice", params={"customer": self._customer_id(),
                                                               "pending_invoice_items_behavior": "include"},
                                      what="a draft invoice from pending invoice items"))

    def _line_specs(self, lines: int) -> list[dict]:
        return [{"amount": 1000 + 100 * n, "description": f"line {n}"} for n in range(lines)]

    def _lines_by_add_lines(self, lines: int = 2) -> Plan[dict]:
        inv = yield from self._make("invoice:draft")
        return (yield from self._send("AddInvoiceLines", {"invoice": inv["id"]}, {"lines": self._line_specs(lines)},
                                      what="lines on a draft invoice"))

    def _lines_by_invoice_items(self, lines: int = 2) -> Plan[dict]:
        inv = yield from self._make("invoice:draft")
        for spec in self._line_specs(lines):
            yield from self._send("CreateInvoiceItem", params={"customer": inv.get("customer") or self._customer_id(),
                                                               "invoice": inv["id"], **spec},
                                  what="an invoice item on a draft invoice")
        return (yield from self._send("RetrieveInvoice", {"invoice": inv["id"]}, what="a draft invoice with lines"))

    def _lines_by_pending_items(self, lines: int = 2) -> Plan[dict]:
        return (yield from self._draft_from_pending_item(lines))

    def _advance(self, kind: str, action: str, **params: Any) -> Plan[dict]:
        """A new invoice of `kind`, then `action` on it."""
        inv = yield from self._make(kind)
        op_id = {"finalize": "FinalizeInvoice", "pay": "PayInvoice", "void": "VoidInvoice",
                 "mark_uncollectible": "MarkInvoiceUncollectible"}[action]
        return (yield from self._send(op_id, {"invoice": inv["id"]}, params, what=f"an invoice ({action})"))

    def _open(self) -> Plan[dict]:
        return (yield from self._advance("invoice:draft_with_lines", "finalize"))

    def _paid_out_of_band(self) -> Plan[dict]:
        return (yield from self._advance("invoice:open", "pay", paid_out_of_band=True))

    def _paid_with_card(self) -> Plan[dict]:
        return (yield from self._advance("invoice:open", "pay", payment_method=self.shared("payment_method")["id"]))

    def _void(self) -> Plan[dict]:
        return (yield from self._advance("invoice:open", "void"))

    def _uncollectible(self) -> Plan[dict]:
        return (yield from self._advance("invoice:open", "mark_uncollectible"))

    def _send_invoice(self, kind: str) -> Plan[dict]:
        """A draft of `kind` switched to collection_method=send_invoice, due in 30 days."""
        inv = yield from self._make(kind)
        yield from self._send("UpdateInvoice", {"invoice": inv["id"]},
                              {"collection_method": "send_invoice", "days_until_due": 30},
                              what="a send_invoice draft (collection_method=send_invoice)")
        # read back: an update's answer can show a change the target did not keep (see `_holds`)
        return (yield from self._send("RetrieveInvoice", {"invoice": inv["id"]},
                                      what="a send_invoice draft, read back"))

    def _draft_send_invoice(self) -> Plan[dict]:
        return (yield from self._send_invoice("invoice:draft"))

    def _draft_with_lines_send_invoice(self) -> Plan[dict]:
        return (yield from self._send_invoice("invoice:draft_with_lines"))

    def _open_send_invoice(self) -> Plan[dict]:
        return (yield from self._advance("invoice:draft_with_lines:send_invoice", "finalize"))

    def _paid_send_invoice(self) -> Plan[dict]:
        return (yield from self._advance("invoice:open:send_invoice", "pay", paid_out_of_band=True))

    def _void_send_invoice(self) -> Plan[dict]:
        return (yield from self._advance("invoice:open:send_invoice", "void"))

    def _uncollectible_send_invoice(self) -> Plan[dict]:
        return (yield from self._advance("invoice:open:send_invoice", "mark_uncollectible"))

    def _pending_item(self, amount: int = 700, description: str = "pending") -> Plan[dict]:
        return (yield from self._send("CreateInvoiceItem", params={"customer": self._customer_id(), "amount": amount,
                                                                   "currency": "usd", "description": description},
                                      what="a pending invoice item"))

    def _invoice_payment(self) -> Plan[dict]:
        inv = yield from self._make("invoice:paid")
        op = self.contract["ListInvoicePayments"]
        if self.capabilities is not None and self.capabilities.unavailable_reason(op.operation_id):
            raise Unavailable(self.capabilities.unavailable_reason(op.operation_id))
        resp = yield from self._get(op.operation_id, {"invoice": inv["id"], "limit": 1})
        data = resp.body.get("data") if resp.status == 200 and isinstance(resp.body, dict) else None
        if not data:
            raise CheckFailed(Finding(
                Category.INVARIANT, "paying an invoice records an invoice payment", op.label,
                "no invoice payment for a paid invoice",
                f"paid invoice {inv['id']} has no invoice payment\n{resp.describe()}", [resp.exchange.to_dict()]))
        return data[0]

    def _payment_intent(self, amount: int = 1000) -> Plan[dict]:
        return (yield from self._send("CreatePaymentIntent", params={"amount": amount, "currency": "usd",
                                                                     "payment_method": "pm_card_visa",
                                                                     "confirm": True},
                                      what="a succeeded payment intent"))

    # -- recipes: identity, templates, Financial Connections, forwarding, Issuing ----------------------------

    def _verification_session(self) -> Plan[dict]:
        # Only the run's tag as metadata: boundary updates send 50 keys, one of them this tag (strategies.schema),
        # so the session never holds more than the 50 keys Stripe allows.
        return (yield from self._send("CreateIdentityVerificationSession", params={"type": "document"},
                                      what="a verification session"))

    def _verified_session(self) -> Plan[dict]:
        session = yield from self._verification_session()
        return (yield from self._send("TestHelperVerifyIdentityVerificationSession", {"session": session["id"]},
                                      what="a verified session (test helper)"))

    def _verification_report(self) -> Plan[dict]:
        session = yield from self._verified_session()
        report = session.get("last_verification_report")
        report_id = report["id"] if isinstance(report, dict) else report
        if not report_id:
            raise RecipeFailed(f"verified session {session['id']} names no last_verification_report")
        return (yield from self._send("RetrieveIdentityVerificationReport", {"report": report_id},
                                      what="a verification report"))

    def _template(self) -> Plan[dict]:
        return (yield from self._send("TestHelperCreateInvoiceRenderingTemplate",
                                      params={"nickname": f"Harness {self.tag()}"},
                                      what="an invoice rendering template"))

    def _archived_template(self) -> Plan[dict]:
        template = yield from self._make("invoice_rendering_template:active")
        return (yield from self._send("ArchiveInvoiceRenderingTemplate", {"template": template["id"]},
                                      what="an archived template"))

    def _fc_account(self) -> Plan[dict]:
        return (yield from self._send("TestHelperCreateFinancialConnectionsAccount",
                                      params={"customer": self._customer_id(), "transactions": 6},
                                      what="a Financial Connections account"))

    def _fc_session(self) -> Plan[dict]:
        return (yield from self._send("CreateFinancialConnectionsSession", params={
            "account_holder": {"type": "customer", "customer": self._customer_id()},
            "permissions": ["transactions"]}, what="a Financial Connections session"))

    def _fc_transaction(self) -> Plan[dict]:
        account = self.shared("financial_connections.account")["id"]
        resp = yield from self._get("ListFinancialConnectionsTransactions", {"account": account, "limit": 1})
        data = resp.body.get("data") if resp.status == 200 and isinstance(resp.body, dict) else None
        if not data:
            raise Unavailable(f"account {account} has no transactions")
        return data[0]

    def _forwarding_request(self) -> Plan[dict]:
        return (yield from self._send("CreateForwardingRequest", params={
            "payment_method": self.shared("payment_method")["id"], "url": "https://forwarding.example.com/cards",
            "replacements": ["card_number", "card_expiry"],
            "request": {"body": '{"card": "{{CARD_NUMBER}}"}', "headers": [{"name": "X-Trace", "value": "1"}]}},
            what="a forwarding request"))

    def _issuing_authorization(self) -> Plan[dict]:
        return (yield from self._send("TestHelperCreateIssuingAuthorization",
                                      params={"amount": 1234, "currency": "usd"},
                                      what="an Issuing authorization (test helper)"))

    def _issuing_cardholder(self) -> Plan[dict]:
        return (yield from self._send("CreateIssuingCardholder", params={
            "name": "Harness Cardholder", "type": "individual",
            "individual": {"first_name": "Harness", "last_name": "Cardholder"},
            "billing": {"address": {"line1": "1 Market Street", "city": "San Francisco", "state": "CA",
                                    "postal_code": "94105", "country": "US"}}}, what="an Issuing cardholder"))

    def _issuing_card(self) -> Plan[dict]:
        holder = self._reuse("issuing.cardholder")["id"]
        return (yield from self._send("CreateIssuingCard", params={"cardholder": holder, "currency": "usd",
                                                                   "type": "virtual", "status": "active"},
                                      what="an active Issuing card"))

    def _issuing_authorization_on_card(self) -> Plan[dict]:
        card = self._reuse("issuing.card")
        return (yield from self._send("TestHelperCreateIssuingAuthorization",
                                      params={"card": card["id"], "amount": 1234},
                                      what="an Issuing authorization (test helper, on a card)"))
