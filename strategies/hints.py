"""What the contract cannot say about a valid request, kept as data: one table per operation, one global table.

The request schemas say which fields exist and what shape they have; they cannot say that `customer` must name a
customer that exists, that a line's period must start before it ends, that a line's currency must be its
invoice's, or that `on_behalf_of` needs a connected account the harness cannot create. Those facts live here, as
hints keyed by bracketed path patterns, so the generic schema walker (`strategies.schema`) stays generic and the
request builder (`strategies.requests`) only has to look things up.

Patterns: `lines[*][period]` (`*` matches one segment: an array index or a key), `**[currency]` (`**` matches any
number of segments, including none, so this is every `currency` at any depth), `expand` (one top-level field).
Later tables and more specific patterns win for value hints; object rules accumulate.

Two kinds of hint:

* schema-level hints (`Omit`, `Use`, `FromSchema`, `Unavailable`, `Range`, `Items`, `NoEmpty` and the object
  rules `Exclusive`, `Require`, `Ordered`, `OnlyWith`, `Subset`), which `strategies.schema` applies directly;
* reference hints (`Ref`, `Match`, `Attr`, `Bound`, `Owner`, `Pick`, `Expand`, `SearchQuery`), which
  `strategies.requests` resolves against the pools of existing objects (`Refs`) before building strategies.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

__all__ = [
    "CURRENCIES",
    "GLOBAL_HINTS",
    "OPERATION_HINTS",
    "Attr",
    "Bound",
    "Exclusive",
    "Expand",
    "FromSchema",
    "Hint",
    "HintTable",
    "Items",
    "Match",
    "NoEmpty",
    "Omit",
    "OnlyWith",
    "OperationHints",
    "Ordered",
    "Owner",
    "Pick",
    "Range",
    "Ref",
    "Require",
    "Scenario",
    "SearchQuery",
    "Subset",
    "Unavailable",
    "Use",
    "at_most_one_of",
    "exactly_one_of",
    "split_path",
]

# --------------------------------------------------------------------------- schema-level hints


@dataclass(frozen=True)
class Omit:
    """Never send this field (it names objects the harness cannot create, or it must be unique per account)."""

    reason: str = ""


@dataclass(frozen=True)
class Use:
    """Draw this field's value from `strategy` instead of the schema (`boundary` for boundary requests)."""

    strategy: SearchStrategy[Any]
    boundary: SearchStrategy[Any] | None = None


@dataclass(frozen=True)
class FromSchema:
    """Generate this field from the schema after all (undoes a broader `Omit` or `Use`)."""


@dataclass(frozen=True)
class Unavailable:
    """This field needs something the target lacks: an optional parent drops it, a required one cannot be built."""

    kind: str
    reason: str = ""


@dataclass(frozen=True)
class Range:
    """Narrow a number to what the API accepts in practice (8-digit amounts, timestamps near now, ...)."""

    min_value: int | float | None = None
    max_value: int | float | None = None


@dataclass(frozen=True)
class Items:
    """Array sizes: `max_size` for valid requests, `boundary_max` (default 20) for boundary ones; `full` lets the
    dedicated full-size boundary case build the schema's `maxItems`; `unique_by` keeps a key distinct."""

    max_size: int | None = None
    boundary_max: int | None = None
    full: bool = False
    unique_by: str | None = None


@dataclass(frozen=True)
class NoEmpty:
    """Never pick the `""` (unset) branch of an emptyable field."""


@dataclass(frozen=True)
class Exclusive:
    """Object rule: at most one of these groups of properties (exactly one when `required`)."""

    groups: tuple[tuple[str, ...], ...]
    required: bool = True


@dataclass(frozen=True)
class Require:
    """Object rule: these optional properties are always sent."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Ordered:
    """Object rule: integer `low` <= integer `high` when both are sent (period start and end)."""

    low: str
    high: str


@dataclass(frozen=True)
class OnlyWith:
    """Object rule: `names` are sent only when property `key` equals `value` (days_until_due needs send_invoice)."""

    names: tuple[str, ...]
    key: str
    value: Any


@dataclass(frozen=True)
class Subset:
    """Object rule: the items of array `name` are kept only if also in array `of` (prefetch needs permission)."""

    name: str
    of: str


def exactly_one_of(*groups: str | tuple[str, ...]) -> Exclusive:
    """Object rule: exactly one of these groups of properties is sent (a group: one name or a tuple of names)."""
    return Exclusive(tuple((g,) if isinstance(g, str) else tuple(g) for g in groups), required=True)


def at_most_one_of(*groups: str | tuple[str, ...]) -> Exclusive:
    """Object rule: at most one of these groups of properties is sent (a group: one name or a tuple of names)."""
    return Exclusive(tuple((g,) if isinstance(g, str) else tuple(g) for g in groups), required=False)


# --------------------------------------------------------------------------- reference hints


@dataclass(frozen=True, init=False)
class Ref:
    """An existing object's ID from the pools of these kinds (`invoice` covers `invoice:draft`, `invoice:open`...)."""

    kinds: tuple[str, ...]

    def __init__(self, *kinds: str) -> None:
        if not kinds:
            raise ValueError("Ref needs at least one pool kind")
        object.__setattr__(self, "kinds", kinds)


@dataclass(frozen=True)
class Match:
    """An ID from `kinds` whose attribute `attr` equals the bound value `source` (the lines of that invoice)."""

    kinds: tuple[str, ...]
    attr: str
    source: str


@dataclass(frozen=True)
class Attr:
    """Attribute `attr` of the object bound to `source` (the invoice's currency, the line's invoice)."""

    source: str
    attr: str


@dataclass(frozen=True)
class Bound:
    """The value bound to `name` (a path parameter or anchor chosen before the body); omitted when unbound."""

    name: str


@dataclass(frozen=True)
class Owner:
    """Bind only: a value of attribute `attr` of some object in `kinds` (an invoice that has draft lines)."""

    kinds: tuple[str, ...]
    attr: str


@dataclass(frozen=True, init=False)
class Pick:
    """Bind only: one of these constant values (a currency the whole body must agree on)."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", values)


@dataclass(frozen=True)
class Expand:
    """`expand[]`: only fields the operation's response can expand (derived from the contract)."""


@dataclass(frozen=True)
class SearchQuery:
    """A valid search query (`strategies.search`) whose values come from the pools."""


Hint: TypeAlias = (
    Omit | Use | FromSchema | Unavailable | Range | Items | NoEmpty | Exclusive | Require | Ordered | OnlyWith
    | Subset | Ref | Match | Attr | Bound | Expand | SearchQuery
)
BindHint: TypeAlias = Ref | Match | Attr | Owner | Pick
HintSpec: TypeAlias = Hint | tuple[Hint, ...]

# --------------------------------------------------------------------------- pattern tables

_PATH_RE = re.compile(r"([^\[\]]*)((?:\[[^\[\]]*\])*)")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def split_path(path: str) -> list[str]:
    """`lines[0][period]` -> ["lines", "0", "period"]; "" -> []."""
    if path == "":
        return []
    match = _PATH_RE.fullmatch(path)
    if match is None or not match.group(1):
        raise ValueError(f"Not a bracketed path: {path!r}")
    return [match.group(1), *_SEGMENT_RE.findall(match.group(2))]


def _matches(pattern: Sequence[str], segments: Sequence[str]) -> bool:
    if not pattern:
        return not segments
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_matches(rest, segments[i:]) for i in range(len(segments) + 1))
    if not segments:
        return False
    return (head == "*" or head == segments[0]) and _matches(rest, segments[1:])


def _specificity(pattern: Sequence[str]) -> tuple[int, int, int]:
    return ("**" not in pattern, sum(seg not in ("*", "**") for seg in pattern), len(pattern))


@dataclass(frozen=True)
class _Entry:
    layer: int
    pattern: tuple[str, ...]
    hints: tuple[Hint, ...]


class HintTable:
    """Path patterns -> hints, in layers (global, operation, scenario): later and more specific entries win."""

    def __init__(self, *layers: Mapping[str, HintSpec]) -> None:
        entries = []
        for layer, table in enumerate(layers):
            for pattern, spec in table.items():
                hints = spec if isinstance(spec, tuple) else (spec,)
                entries.append(_Entry(layer, tuple(split_path(pattern)), hints))
        self._entries = sorted(entries, key=lambda e: (e.layer, _specificity(e.pattern)))
        self._index()

    def _index(self) -> None:
        """Entries by the first literal segment of their pattern or, for a pattern that starts with a wildcard, by
        its last literal one (`**[currency]` can only match a path ending in `currency`); patterns without either
        go to every lookup. And a memo of answers: a schema walk asks for the same paths again and again."""
        self._by_head: dict[str, list[int]] = {}
        self._by_tail: dict[str, list[int]] = {}
        self._wild: list[int] = []
        for n, entry in enumerate(self._entries):
            pattern = entry.pattern
            if pattern and pattern[0] not in ("*", "**"):
                self._by_head.setdefault(pattern[0], []).append(n)
            elif pattern and pattern[-1] not in ("*", "**"):
                self._by_tail.setdefault(pattern[-1], []).append(n)
            elif pattern:
                self._wild.append(n)
            else:
                self._by_head.setdefault("", []).append(n)
        self._memo: dict[tuple[str, ...], list[Hint]] = {}

    @classmethod
    def of(cls, hints: HintTable | Mapping[str, HintSpec] | None) -> HintTable:
        if hints is None:
            return cls()
        return hints if isinstance(hints, HintTable) else cls(hints)

    def lookup(self, segments: Sequence[str]) -> list[Hint]:
        """Every hint whose pattern matches, weakest first."""
        key = tuple(segments)
        found = self._memo.get(key)
        if found is None:
            head, tail = (key[0], key[-1]) if key else ("", "")
            candidates = sorted({*self._by_head.get(head, ()), *self._by_tail.get(tail, ()), *self._wild})
            found = [hint for n in candidates if _matches((entry := self._entries[n]).pattern, key)
                     for hint in entry.hints]
            self._memo[key] = found
        return list(found)

    def map(self, fn: Callable[[Hint], Hint]) -> HintTable:
        """The same table with every hint replaced by `fn(hint)` (how reference hints get resolved)."""
        out = HintTable()
        out._entries = [_Entry(e.layer, e.pattern, tuple(fn(h) for h in e.hints)) for e in self._entries]
        out._index()
        return out


@dataclass(frozen=True)
class Scenario:
    """One way to call an operation validly (e.g. an invoice item that is pending vs. one on a draft invoice)."""

    name: str
    bind: Mapping[str, BindHint] = field(default_factory=dict)
    fields: Mapping[str, HintSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class OperationHints:
    """`bind`: values chosen before the body (every path parameter, and anchors the body must agree with), in
    order; `fields`: hints for the body; `scenarios`: alternatives layered on top (one is picked per request)."""

    bind: Mapping[str, BindHint] = field(default_factory=dict)
    fields: Mapping[str, HintSpec] = field(default_factory=dict)
    scenarios: tuple[Scenario, ...] = ()


# --------------------------------------------------------------------------- value strategies

CURRENCIES = ("usd", "eur", "gbp")
COUNTRIES = ("US", "GB", "DE", "FR", "IE", "NL", "CA", "AU")
_NOW = int(time.time())
_DAY = 86_400
AMOUNT = Range(-99_999_999, 99_999_999)  # Stripe amounts have at most 8 digits
UNIT_AMOUNT = Range(0, 999_999)  # x quantity (<= 100) stays within 8 digits
TIMESTAMP = Range(_NOW - 365 * _DAY, _NOW + 365 * _DAY)
FUTURE = Range(_NOW + _DAY, _NOW + 365 * _DAY)
PAST = Range(_NOW - 5 * 365 * _DAY, _NOW + _DAY)

_HOST = st.from_regex(r"[a-z][a-z0-9]{2,12}\.(example|test)\.com", fullmatch=True)
_URL_PATH = st.from_regex(r"(/[a-z0-9_-]{1,12}){0,3}", fullmatch=True)
HTTPS_URLS = st.builds(lambda host, path: f"https://{host}{path}", _HOST, _URL_PATH)
EMAILS = st.from_regex(r"[a-z][a-z0-9._]{0,15}@example\.com", fullmatch=True)
PHONES = st.from_regex(r"\+1555[0-9]{7}", fullmatch=True)
HEADER_NAMES = st.one_of(
    st.sampled_from(("Content-Type", "Accept", "X-Request-Id", "Idempotency-Key", "X-Merchant-Ref")),
    st.from_regex(r"X-[A-Z][a-z]{1,10}(-[A-Z][a-z]{1,10})?", fullmatch=True),
)
FORWARDED_BODIES = st.sampled_from((
    '{"card":{"number":"{{CARD_NUMBER}}","cvc":"{{CARD_CVC}}","exp":"{{CARD_EXPIRY}}"}}',
    '{"amount":1000,"currency":"usd","name":"{{CARDHOLDER_NAME}}"}',
    "pan={{CARD_NUMBER}}&exp_month={{CARD_EXPIRY_MONTH}}&exp_year={{CARD_EXPIRY_YEAR}}",
    "{}",
))
_PRODUCT_NAMES = st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=30).map(
    lambda s: s.strip() or "Widget")

# --------------------------------------------------------------------------- the tables

OMIT_OBJECTS = Omit("names objects the harness cannot create")

GLOBAL_HINTS: dict[str, HintSpec] = {
    "expand": Expand(),
    # Realistic values for fields the schema types as plain strings.
    "**[currency]": Use(st.sampled_from(CURRENCIES)),
    "**[url]": Use(HTTPS_URLS),
    "**[return_url]": Use(HTTPS_URLS),
    "**[images][*]": Use(HTTPS_URLS),
    "**[email]": Use(EMAILS),
    "**[phone]": Use(PHONES),
    "**[country]": Use(st.sampled_from(COUNTRIES)),
    "**[countries][*]": Use(st.sampled_from(COUNTRIES)),
    # The request types it as a string; the object Stripe returns allows only these.
    "**[eu_bank_transfer][country]": Use(st.sampled_from(("BE", "DE", "ES", "FR", "IE", "NL"))),
    "**[product]": Ref("product"),
    "**[product_data][name]": Use(_PRODUCT_NAMES),
    "**[payment_method]": Ref("payment_method"),
    "**[rendering][template]": Ref("invoice_rendering_template"),
    # Numbers inside what Stripe accepts.
    "**[amount]": AMOUNT,
    "**[taxable_amount]": Range(0, 99_999_999),
    "**[unit_amount]": UNIT_AMOUNT,
    "**[quantity]": Range(1, 100),
    "**[percentage]": Range(0, 100),
    "**[days_until_due]": Range(1, 365),
    "**[due_date]": FUTURE,
    "**[automatically_finalizes_at]": FUTURE,
    "**[effective_at]": TIMESTAMP,
    "**[created]": PAST,  # list filters: a timestamp or a range of them
    "**[created][*]": PAST,
    "**[transacted_at]": PAST,
    "**[transacted_at][*]": PAST,
    "**[due_date][*]": TIMESTAMP,
    "**[tax_amounts][*][amount]": Range(0, 99_999_999),
    "**[period]": Ordered("start", "end"),
    "**[period][start]": TIMESTAMP,
    "**[period][end]": TIMESTAMP,
    "**[expires_after_seconds]": Range(10, 1_209_600),
    "**[installments][plan][count]": Range(2, 24),
    "**[mandate_options][amount]": Range(1, 99_999_999),
    "**[mandate_options][end_date]": FUTURE,
    "limits[accounts]": Range(1, 100),
    # Issuer and tax liability: "account" needs a connected account.
    "**[issuer][type]": Use(st.just("self")),
    "**[liability][type]": Use(st.just("self")),
    "**[issuer][account]": OMIT_OBJECTS,
    "**[liability][account]": OMIT_OBJECTS,
    # Objects no target can be assumed to have, and connected accounts.
    "**[discounts]": OMIT_OBJECTS,
    "**[tax_rates]": OMIT_OBJECTS,
    "**[default_tax_rates]": OMIT_OBJECTS,
    "**[tax_code]": OMIT_OBJECTS,
    "**[tax_details]": OMIT_OBJECTS,
    "**[pricing]": OMIT_OBJECTS,
    "**[price]": OMIT_OBJECTS,
    "**[plan]": OMIT_OBJECTS,
    "**[coupon]": OMIT_OBJECTS,
    "**[promotion_code]": OMIT_OBJECTS,
    "**[shipping_rate]": OMIT_OBJECTS,
    "**[subscription]": OMIT_OBJECTS,
    "**[schedule]": OMIT_OBJECTS,
    "**[subscription_details]": OMIT_OBJECTS,
    "**[schedule_details]": OMIT_OBJECTS,
    "**[on_behalf_of]": OMIT_OBJECTS,
    "**[transfer_data]": OMIT_OBJECTS,
    "**[application_fee_amount]": Omit("needs Connect"),
    "**[customer_account]": OMIT_OBJECTS,
    "**[related_customer_account]": OMIT_OBJECTS,
    "**[related_person]": OMIT_OBJECTS,
    "**[verification_flow]": OMIT_OBJECTS,
    "**[source]": OMIT_OBJECTS,
    "**[mandate]": OMIT_OBJECTS,
    "**[default_mandate]": OMIT_OBJECTS,
    "**[default_source]": OMIT_OBJECTS,
    "**[default_payment_method]": Omit("must be attached to the invoice's customer"),
    "**[account_tax_ids]": OMIT_OBJECTS,
    "**[tax_ids]": OMIT_OBJECTS,
    "**[payment_record]": OMIT_OBJECTS,
    "**[from_invoice]": Omit("needs a finalized invoice (see the revision scenario)"),
    "**[invoice_item]": Omit("adding a pending item consumes it"),
    "**[invoiceitem]": Omit("adding a pending item consumes it"),
    "**[template_version]": Omit("must name an existing template version"),
    "**[currency_options]": Omit("keys must be currencies other than the price's"),
    "**[delivery_estimate]": Omit("minimum and maximum must agree across units"),
    "**[number]": Omit("must be unique per account"),
    "**[page]": Omit("must come from a previous search result"),
    "**[unit_amount_decimal]": Omit("use price_data; the flat alternative conflicts with amount"),
    "**[price_data][unit_amount_decimal]": FromSchema(),  # allowed inside price_data (more specific entry wins)
    "**[price_data]": exactly_one_of("unit_amount", "unit_amount_decimal"),
    "**[quantity_decimal]": Omit("conflicts with quantity"),
    "**[customer_balance][bank_transfer][type]": Use(st.sampled_from(
        ("eu_bank_transfer", "gb_bank_transfer", "jp_bank_transfer", "mx_bank_transfer", "us_bank_transfer"))),
    "**[customer_balance][funding_type]": Use(st.just("bank_transfer")),
    "custom_fields": Items(max_size=4, boundary_max=4),
}


def _list(kind: str) -> dict[str, HintSpec]:
    """Cursors name objects of the listed kind, and only one of them may be given."""
    return {"": at_most_one_of("starting_after", "ending_before"),
            "starting_after": Ref(kind), "ending_before": Ref(kind)}


def _list_match(kind: str, attr: str, source: str) -> dict[str, HintSpec]:
    match = Match((kind,), attr, source)
    return {"": at_most_one_of("starting_after", "ending_before"), "starting_after": match, "ending_before": match}


_LINE = {  # a new line or item: amount XOR price_data, and a product XOR product_data inside price_data
    "": exactly_one_of("amount", "price_data"),
    "price_data": exactly_one_of("product", "product_data"),
}
_LINE_UPDATE = {"": at_most_one_of("amount", "price_data"), "price_data": exactly_one_of("product", "product_data")}


def _under(prefix: str, table: Mapping[str, HintSpec]) -> dict[str, HintSpec]:
    return {(f"{prefix}{_bracketed(p)}" if p else prefix): v for p, v in table.items()}


def _bracketed(path: str) -> str:
    return "".join(f"[{seg}]" for seg in split_path(path))


_INVOICE_FIELDS: dict[str, HintSpec] = {
    "": (at_most_one_of("days_until_due", "due_date"),
         OnlyWith(("days_until_due", "due_date"), "collection_method", "send_invoice")),
    "shipping_cost": Require(("shipping_rate_data",)),
    "shipping_cost[shipping_rate_data]": Require(("fixed_amount",)),
    "shipping_cost[shipping_rate_data][fixed_amount][currency]": Bound("currency"),
    "shipping_cost[shipping_rate_data][fixed_amount][amount]": Range(0, 99_999_999),
}

_DRAFT_INVOICE = Ref("invoice:draft")
_SESSION_OPEN = Ref("identity.verification_session:requires_input")

OPERATION_HINTS: dict[str, OperationHints] = {
    # -- Financial Connections
    "RefreshFinancialConnectionsAccount": OperationHints(bind={"account": Ref("financial_connections.account")}),
    "SubscribeFinancialConnectionsAccount": OperationHints(bind={"account": Ref("financial_connections.account")}),
    "UnsubscribeFinancialConnectionsAccount": OperationHints(bind={"account": Ref("financial_connections.account")}),
    "CreateFinancialConnectionsSession": OperationHints(fields={
        "account_holder": Require(("customer",)),
        "account_holder[type]": Use(st.just("customer")),
        "account_holder[customer]": Ref("customer"),
        "account_holder[account]": OMIT_OBJECTS,
        "": Subset("prefetch", "permissions"),
        "filters": at_most_one_of("country", "countries"),
    }),
    "RetrieveFinancialConnectionsSession": OperationHints(bind={"session": Ref("financial_connections.session")}),
    "ListFinancialConnectionsTransactions": OperationHints(
        bind={"account": Ref("financial_connections.account")},
        fields={"account": Bound("account"),
                "transaction_refresh[after]": Match(("financial_connections.transaction_refresh",), "account",
                                                    "account"),
                **_list_match("financial_connections.transaction", "account", "account")},
    ),
    "RetrieveFinancialConnectionsTransaction": OperationHints(
        bind={"transaction": Ref("financial_connections.transaction")}),
    # -- Forwarding
    "ListForwardingRequests": OperationHints(fields=_list("forwarding.request")),
    "CreateForwardingRequest": OperationHints(fields={
        "request[headers][*][name]": Use(HEADER_NAMES),
        "request[body]": Use(FORWARDED_BODIES),
    }),
    "RetrieveForwardingRequest": OperationHints(bind={"id": Ref("forwarding.request")}),
    # -- Identity
    "ListIdentityVerificationReports": OperationHints(fields={
        "verification_session": Ref("identity.verification_session"), **_list("identity.verification_report")}),
    "RetrieveIdentityVerificationReport": OperationHints(bind={"report": Ref("identity.verification_report")}),
    "ListIdentityVerificationSessions": OperationHints(fields={
        "related_customer": Ref("customer"), **_list("identity.verification_session")}),
    "CreateIdentityVerificationSession": OperationHints(fields={"related_customer": Ref("customer")}),
    "RetrieveIdentityVerificationSession": OperationHints(bind={"session": Ref("identity.verification_session")}),
    "UpdateIdentityVerificationSession": OperationHints(bind={"session": _SESSION_OPEN}),
    "CancelIdentityVerificationSession": OperationHints(bind={"session": _SESSION_OPEN}),
    "RedactIdentityVerificationSession": OperationHints(bind={"session": Ref(
        "identity.verification_session:requires_input", "identity.verification_session:verified")}),
    # -- Invoice payments and rendering templates
    "ListInvoicePayments": OperationHints(fields={
        "invoice": Ref("invoice"), "payment[type]": Use(st.just("payment_intent")),
        "payment[payment_intent]": Ref("payment_intent"), **_list("invoice_payment")}),
    "RetrieveInvoicePayment": OperationHints(bind={"invoice_payment": Ref("invoice_payment")}),
    "ListInvoiceRenderingTemplates": OperationHints(fields=_list("invoice_rendering_template")),
    "RetrieveInvoiceRenderingTemplate": OperationHints(
        bind={"template": Ref("invoice_rendering_template")},
        fields={"version": Omit("must name an existing version")}),
    "ArchiveInvoiceRenderingTemplate": OperationHints(bind={"template": Ref("invoice_rendering_template:active")}),
    "UnarchiveInvoiceRenderingTemplate": OperationHints(
        bind={"template": Ref("invoice_rendering_template:archived")}),
    # -- Invoice items
    "ListInvoiceItems": OperationHints(fields={
        "customer": Ref("customer"), "invoice": Ref("invoice"), **_list("invoiceitem")}),
    "CreateInvoiceItem": OperationHints(
        fields=_LINE,
        scenarios=(
            Scenario("pending", fields={"customer": Ref("customer"), "": Require(("customer",)),
                                        "invoice": Omit("the pending scenario")}),
            Scenario("on a draft invoice", bind={"invoice": _DRAFT_INVOICE}, fields={
                "": Require(("invoice", "customer")),
                "invoice": Bound("invoice"),
                "customer": Attr("invoice", "customer"),
                "currency": Attr("invoice", "currency"),
                "price_data[currency]": Attr("invoice", "currency"),
            }),
        ),
    ),
    "DeleteInvoiceItem": OperationHints(bind={"invoiceitem": Ref("invoiceitem:pending", "invoiceitem:draft")}),
    "RetrieveInvoiceItem": OperationHints(bind={"invoiceitem": Ref("invoiceitem")}),
    "UpdateInvoiceItem": OperationHints(
        bind={"invoiceitem": Ref("invoiceitem:pending", "invoiceitem:draft")},
        fields={**_LINE_UPDATE, "price_data[currency]": Attr("invoiceitem", "currency")},
    ),
    # -- Invoices
    "ListInvoices": OperationHints(fields={"customer": Ref("customer"), **_list("invoice")}),
    "CreateInvoice": OperationHints(
        bind={"currency": Pick(*CURRENCIES)},
        fields={**_INVOICE_FIELDS, "currency": Bound("currency")},
        scenarios=(
            Scenario("for a customer", fields={"": Require(("customer", "currency")), "customer": Ref("customer")}),
            Scenario("revision", bind={"from": Ref("invoice:open", "invoice:paid", "invoice:uncollectible",
                                                   "invoice:void")}, fields={
                "": Require(("from_invoice",)),
                "from_invoice": FromSchema(),
                "from_invoice[invoice]": Bound("from"),
                "customer": Omit("taken from the revised invoice"),
                "currency": Omit("taken from the revised invoice"),
                "shipping_cost": Omit("its currency must be the revised invoice's"),
            }),
        ),
    ),
    "CreateInvoicePreview": OperationHints(
        bind={"currency": Pick(*CURRENCIES)},
        fields={
            "": Require(("customer", "currency")),
            "customer": Ref("customer"),
            "currency": Bound("currency"),
            "invoice_items": Items(max_size=3, boundary_max=20, full=True),
            "invoice_items[*][currency]": Bound("currency"),
            "invoice_items[*][price_data][currency]": Bound("currency"),
            "invoice_items[*][unit_amount]": Omit("use amount or price_data"),
            **_under("invoice_items[*]", {"": exactly_one_of("amount", "price_data")}),
        },
    ),
    "SearchInvoices": OperationHints(fields={"query": SearchQuery()}),
    "DeleteInvoice": OperationHints(bind={"invoice": _DRAFT_INVOICE}),
    "RetrieveInvoice": OperationHints(bind={"invoice": Ref("invoice")}),
    "UpdateInvoice": OperationHints(
        bind={"invoice": _DRAFT_INVOICE},
        fields={**_INVOICE_FIELDS, "shipping_cost[shipping_rate_data][fixed_amount][currency]":
                Attr("invoice", "currency")},
    ),
    "AddInvoiceLines": OperationHints(
        bind={"invoice": _DRAFT_INVOICE},
        fields={"lines": Items(max_size=3, boundary_max=20, full=True),
                **_under("lines[*]", _LINE),
                "lines[*][price_data][currency]": Attr("invoice", "currency")},
    ),
    "AttachInvoicePayment": OperationHints(
        bind={"invoice": Ref("invoice:open")},
        fields={"": Require(("payment_intent",)), "payment_intent": Ref("payment_intent")},
    ),
    "FinalizeInvoice": OperationHints(bind={"invoice": _DRAFT_INVOICE}),
    "ListInvoiceLines": OperationHints(
        bind={"invoice": Ref("invoice")}, fields=_list_match("line_item", "invoice", "invoice")),
    "UpdateInvoiceLine": OperationHints(
        bind={"line_item_id": Ref("line_item:draft"), "invoice": Attr("line_item_id", "invoice")},
        fields={**_LINE_UPDATE, "price_data[currency]": Attr("invoice", "currency")},
    ),
    "MarkInvoiceUncollectible": OperationHints(bind={"invoice": Ref("invoice:open")}),
    "PayInvoice": OperationHints(
        bind={"invoice": Ref("invoice:open", "invoice:uncollectible")},
        fields={"": at_most_one_of("payment_method", "paid_out_of_band")},
    ),
    "RemoveInvoiceLines": OperationHints(
        bind={"invoice": Owner(("line_item:draft",), "invoice")},
        fields={"lines": Items(unique_by="id"), "lines[*][id]": Match(("line_item:draft",), "invoice", "invoice")},
    ),
    "SendInvoice": OperationHints(bind={"invoice": Ref("invoice:open:send_invoice")}),  # rule invoice.send.*
    "UpdateInvoiceLines": OperationHints(
        bind={"invoice": Owner(("line_item:draft",), "invoice")},
        fields={"lines": Items(unique_by="id"),
                "lines[*][id]": Match(("line_item:draft",), "invoice", "invoice"),
                **_under("lines[*]", _LINE_UPDATE),
                "lines[*][price_data][currency]": Attr("invoice", "currency")},
    ),
    "VoidInvoice": OperationHints(bind={"invoice": Ref("invoice:open", "invoice:uncollectible")}),
    # -- Issuing
    "ListIssuingAuthorizations": OperationHints(fields={
        "card": Ref("issuing.card"), "cardholder": Ref("issuing.cardholder"), **_list("issuing.authorization")}),
    "RetrieveIssuingAuthorization": OperationHints(bind={"authorization": Ref("issuing.authorization")}),
    "UpdateIssuingAuthorization": OperationHints(bind={"authorization": Ref("issuing.authorization")}),
}
