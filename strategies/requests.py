"""Whole API requests for one contract operation, as Hypothesis strategies: valid, boundary and invalid.

A request needs more than its schema: path parameters and references must name objects that exist on the target.
`Refs` holds those objects (pools of IDs by kind, plus what is known about each, such as an invoice's customer
and currency); the per-operation tables in `strategies.hints` say which field draws from which pool. Nothing
outside the pools is assumed: when an operation needs a pool that is empty, building its strategy raises
`MissingReference`, so a suite can skip with a reason instead of sending requests that must fail.

Invalid requests are valid requests with exactly one contract defect planted, each labelled with the error the
server must give (`Expected`): the first error a server checks may differ between servers, so a single defect is
the only way the expected `param` is certain.
"""

from __future__ import annotations

import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from contracts.loader import Operation, fill_path, load_contract
from strategies.hints import (
    GLOBAL_HINTS,
    OPERATION_HINTS,
    Attr,
    BindHint,
    Bound,
    Expand,
    Hint,
    HintTable,
    Match,
    Omit,
    OperationHints,
    Owner,
    Pick,
    Ref,
    Scenario,
    SearchQuery,
    Unavailable,
    Use,
)
from strategies.schema import Defect, Mode, Unbuildable, boundary_values, defects, minimal_values, values
from strategies.search import search_queries
from wire.codec import encode

__all__ = [
    "MAX_BINDINGS",
    "ApiRequest",
    "Expected",
    "MissingReference",
    "Refs",
    "boundary_requests",
    "invalid_requests",
    "valid_requests",
]

MAX_BINDINGS = 24
"""At most this many combinations of bound values (path parameters, anchors) per scenario are prepared."""

RequestKind = Literal["valid", "boundary", "invalid"]


class MissingReference(LookupError):
    """An operation needs an existing object of `kind` and the pools have none: skip it, naming the kind."""

    def __init__(self, kind: str, operation: str, detail: str = "") -> None:
        message = f"{operation} needs an existing {kind}, and the Refs pools hold none"
        super().__init__(f"{message} ({detail})" if detail else message)
        self.kind = kind
        self.operation = operation
        self.detail = detail


@dataclass(frozen=True)
class Refs:
    """Objects that exist on the target, by kind, and what is known about each.

    `pools` maps a kind to IDs: plain kinds ("customer", "product", "payment_method") and state-qualified ones
    ("invoice:draft", "invoice:open", "invoiceitem:pending", "line_item:draft",
    "identity.verification_session:requires_input", "invoice_rendering_template:archived"...). Asking for a plain kind
    ("invoice") also returns the IDs of all its qualified pools. `attrs` maps an ID to facts the strategies need
    for consistency: an invoice's "customer" and "currency", a line's "invoice", a transaction's "account".
    """

    pools: Mapping[str, Sequence[str]] = field(default_factory=dict)
    attrs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def ids(self, *kinds: str) -> list[str]:
        """The IDs in the pools of `kinds`, each once, in pool order; a plain kind (``"invoice"``) includes its
        state-qualified pools (``"invoice:open"``, ``"invoice:open:send_invoice"``...)."""
        out: list[str] = []
        for kind in kinds:
            names = [kind] if ":" in kind else [kind, *sorted(k for k in self.pools if k.startswith(kind + ":"))]
            for name in names:
                for object_id in self.pools.get(name, ()):
                    if object_id not in out:
                        out.append(object_id)
        return out

    def attr(self, object_id: Any, name: str) -> Any:
        """A known fact about an object, or None."""
        return (self.attrs.get(object_id) or {}).get(name) if isinstance(object_id, str) else None

    def with_ids(self, kind: str, *ids: str, **attrs: Any) -> Refs:
        """A copy with `ids` added to the pool `kind` (and `attrs` recorded for each of them)."""
        pools = {k: list(v) for k, v in self.pools.items()}
        pools.setdefault(kind, [])
        pools[kind] += [i for i in ids if i not in pools[kind]]
        known = {k: dict(v) for k, v in self.attrs.items()}
        for object_id in ids:
            known.setdefault(object_id, {}).update(attrs)
        return Refs(pools, known)


@dataclass(frozen=True)
class Expected:
    """The error an invalid request must get; `param`/`code` None means "any" (the defect makes them uncertain)."""

    status: int = 400
    error_type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class ApiRequest:
    """One request to send: `params` nested (before encoding), or `raw_pairs` for malformed encodings."""

    operation_id: str
    method: str
    path: str
    path_params: Mapping[str, str]
    params: Mapping[str, Any]
    kind: RequestKind
    expected: Expected | None = None
    label: str = ""
    raw_pairs: tuple[tuple[str, str], ...] | None = None
    defect: str = ""  # invalid requests: the kind of defect planted ("unknown", "range", "malformed", ...)
    headers: tuple[tuple[str, str], ...] = ()  # extra request headers (a header defect)

    def encoded(self) -> list[tuple[str, str]]:
        """The (key, value) pairs on the wire: Stripe's bracket encoding of `params`, or `raw_pairs` as given."""
        if self.raw_pairs is not None:
            return list(self.raw_pairs)
        return encode(self.params)


# --------------------------------------------------------------------------- resolving hints against the pools


def _kinds_label(kinds: Sequence[str]) -> str:
    return " or ".join(kinds)


def _candidates(hint: BindHint, bound: Mapping[str, Any], refs: Refs) -> list[Any]:
    if isinstance(hint, Ref):
        return refs.ids(*hint.kinds)
    if isinstance(hint, Match):
        return [i for i in refs.ids(*hint.kinds) if refs.attr(i, hint.attr) == bound.get(hint.source)]
    if isinstance(hint, Attr):
        value = refs.attr(bound.get(hint.source), hint.attr)
        return [] if value is None else [value]
    if isinstance(hint, Owner):
        owners = [refs.attr(i, hint.attr) for i in refs.ids(*hint.kinds)]
        return list(dict.fromkeys(o for o in owners if o is not None))
    if isinstance(hint, Pick):
        return list(hint.values)
    raise TypeError(f"{hint!r} cannot bind a value (use Ref, Match, Attr, Owner or Pick)")


def _bind_kind(hint: BindHint) -> str:
    if isinstance(hint, Ref | Match | Owner):
        return _kinds_label(hint.kinds) + (f" with a known {hint.attr}" if isinstance(hint, Owner) else "")
    if isinstance(hint, Attr):
        return f"{hint.source} whose {hint.attr} is known"
    return "value"


def _bindings(bind: Mapping[str, BindHint], refs: Refs, operation: str) -> list[dict[str, Any]]:
    """Every consistent choice of bound values, in order, up to MAX_BINDINGS."""
    results: list[dict[str, Any]] = [{}]
    for name, hint in bind.items():
        extended = []
        for bound in results:
            for value in _candidates(hint, bound, refs):
                extended.append({**bound, name: value})
        if not extended:
            raise MissingReference(_bind_kind(hint), operation, f"for {name!r}")
        results = extended[:MAX_BINDINGS]
    return results


def _expand_hint(op: Operation) -> Hint:
    contract = op._contract or load_contract()
    resource = op.resource
    if resource is None or resource not in contract.components:
        return Omit("the response has no expandable fields")
    # IDs to expand and includable fields to include (`verified_outputs`, `verified_outputs.dob`, `payments`)
    fields = sorted({*contract.expandable_fields(resource), *contract.includable_fields(resource)})
    if op.is_list:
        fields = [f"data.{name}" for name in fields]
    if not fields:
        return Omit("the response has no expandable fields")
    most = (op.request_schema.get("properties", {}).get("expand") or {}).get("maxItems") or 20
    valid = st.lists(st.sampled_from(fields), min_size=1, max_size=min(3, len(fields)), unique=True)
    return Use(valid, boundary=st.lists(st.sampled_from(fields), min_size=most, max_size=most))


def _resolve(hint: Hint, bound: Mapping[str, Any], refs: Refs, op: Operation) -> Hint:
    """A reference hint -> the schema-level hint it means for these pools and bound values."""
    if isinstance(hint, Ref):
        ids = refs.ids(*hint.kinds)
        return Use(st.sampled_from(ids)) if ids else Unavailable(_kinds_label(hint.kinds))
    if isinstance(hint, Match):
        ids = _candidates(hint, bound, refs)
        if not ids:
            return Unavailable(_kinds_label(hint.kinds), f"no {_kinds_label(hint.kinds)} of this {hint.source}")
        return Use(st.sampled_from(ids))
    if isinstance(hint, Attr):
        value = refs.attr(bound.get(hint.source), hint.attr)
        if value is None:
            return Unavailable(_bind_kind(hint), f"the {hint.attr} of {hint.source} {bound.get(hint.source)!r} "
                                                 "is not in Refs.attrs")
        return Use(st.just(value))
    if isinstance(hint, Bound):
        return Use(st.just(bound[hint.name])) if hint.name in bound else Omit(f"{hint.name} is not bound")
    if isinstance(hint, Expand):
        return _expand_hint(op)
    if isinstance(hint, SearchQuery):
        return Use(search_queries({"customer": refs.ids("customer")}))
    return hint


# --------------------------------------------------------------------------- plans


@dataclass
class _Variant:
    """One scenario with one choice of bound values: what a single request strategy is built from."""

    scenario: str
    bound: dict[str, Any]
    hints: HintTable


def _operation_hints(op: Operation) -> OperationHints:
    return OPERATION_HINTS.get(op.operation_id, OperationHints())


def _variants(op: Operation, refs: Refs) -> list[_Variant]:
    table = _operation_hints(op)
    scenarios = table.scenarios or (Scenario("default"),)
    out: list[_Variant] = []
    missing: MissingReference | None = None
    for scenario in scenarios:
        bind = {**table.bind, **scenario.bind}
        unbound = [p for p in op.path_params if p not in bind]
        if unbound:
            raise ValueError(f"strategies.hints has no bind entry for {op.operation_id}'s path parameter(s) "
                             f"{', '.join(unbound)}")
        try:
            choices = _bindings(bind, refs, op.operation_id)
        except MissingReference as exc:
            missing = missing or exc
            continue
        layered = HintTable(GLOBAL_HINTS, table.fields, scenario.fields)
        for bound in choices:
            resolved = layered.map(lambda h, b=bound: _resolve(h, b, refs, op))
            out.append(_Variant(scenario.name, bound, resolved))
    if not out:
        assert missing is not None
        raise missing
    return out


def _built(op: Operation, refs: Refs, mode: Mode, *, full_arrays: bool = False
           ) -> list[tuple[_Variant, SearchStrategy[Any]]]:
    """Body strategies for every variant that can be built; MissingReference when none can."""
    out = []
    first: Unbuildable | None = None
    for variant in _variants(op, refs):
        try:
            if mode == "boundary":
                strategy = boundary_values(op.request_schema, hints=variant.hints, full_arrays=full_arrays)
            else:
                strategy = (values if mode == "valid" else minimal_values)(op.request_schema, hints=variant.hints)
        except Unbuildable as exc:
            first = first or exc
            continue
        out.append((variant, strategy))
    if not out:
        assert first is not None
        if first.kind is None:
            raise ValueError(f"strategies.hints make {op.operation_id} impossible: {first}")
        raise MissingReference(first.kind, op.operation_id, str(first))
    return out


def _request(op: Operation, variant: _Variant, params: Mapping[str, Any], kind: RequestKind, label: str, *,
             expected: Expected | None = None, raw_pairs: tuple[tuple[str, str], ...] | None = None,
             defect: str = "") -> ApiRequest:
    path_params = {name: str(variant.bound[name]) for name in op.path_params}
    return ApiRequest(op.operation_id, op.method, fill_path(op.path, path_params), path_params, dict(params), kind,
                      expected, label, raw_pairs, defect)


def _pick(built: list[tuple[_Variant, SearchStrategy[Any]]]) -> SearchStrategy[int]:
    """A variant's index: first a scenario (uniformly, however many bindings each has), then one of its bindings."""
    by_scenario: dict[str, list[int]] = {}
    for index, (variant, _) in enumerate(built):
        by_scenario.setdefault(variant.scenario, []).append(index)
    groups = list(by_scenario.values())
    return st.sampled_from(groups).flatmap(st.sampled_from)


def _requests(op: Operation, refs: Refs, mode: Mode, kind: RequestKind, *, full_arrays: bool = False
              ) -> SearchStrategy[ApiRequest]:
    built = _built(op, refs, mode, full_arrays=full_arrays)

    def make(index: int) -> SearchStrategy[ApiRequest]:
        variant, strategy = built[index]
        label = f"{kind} {op.operation_id}" + (f" ({variant.scenario})" if variant.scenario != "default" else "")
        return strategy.map(lambda params: _request(op, variant, params, kind, label))

    return _pick(built).flatmap(make)


# --------------------------------------------------------------------------- built once, bound per request
#
# Building a request strategy walks the request schema against the hint tables: milliseconds per operation, up to
# hundreds for operations with many bindings. The suites ask for one strategy per example, because the objects an
# operation changes are made fresh for every request, so the pools' IDs differ each time while their shape (which
# kinds, how many IDs, what is known about each) does not. So strategies are built for the pools' shape, with a
# placeholder standing for each ID, once; each draw then binds the placeholders to the IDs of this request's pools.


def _placeholder(n: int) -> str:
    """A stand-in for the n-th ID of a pool shape. Built at run time, so that Hypothesis (which mines string
    literals from the code under test) never generates one by itself; only [a-z0-9~] so no encoding touches it."""
    mark = chr(126) * 2
    return f"{mark}{chr(112)}{n}{mark}"


_PLACEHOLDER = re.compile(re.escape(chr(126) * 2) + chr(112) + r"(\d+)" + re.escape(chr(126) * 2))


def _shape(refs: Refs) -> tuple[Refs, tuple[str, ...], tuple[Any, ...]]:
    """`refs` with every ID replaced by a placeholder (in pools and in the attrs that name IDs), the IDs in
    placeholder order, and a hashable key of the shape."""
    ids: dict[str, str] = {}
    for kind in sorted(refs.pools):
        for object_id in refs.pools[kind]:
            ids.setdefault(object_id, _placeholder(len(ids)))

    def swap(value: Any) -> Any:
        return ids.get(value, value) if isinstance(value, str) else value

    pools = {kind: [ids[i] for i in refs.pools[kind]] for kind in sorted(refs.pools)}
    attrs = {ids.get(object_id, object_id): {k: swap(v) for k, v in facts.items()}
             for object_id, facts in refs.attrs.items()}
    key = (tuple((k, tuple(v)) for k, v in pools.items()),
           tuple(sorted((k, tuple(sorted((a, repr(v)) for a, v in facts.items()))) for k, facts in attrs.items())))
    return Refs(pools, attrs), tuple(ids), key


def _bind_value(value: Any, ids: Sequence[str]) -> Any:
    if isinstance(value, str):
        if chr(126) not in value:
            return value
        return _PLACEHOLDER.sub(lambda m: ids[int(m.group(1))], value)
    if isinstance(value, dict):
        return {_bind_value(k, ids): _bind_value(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind_value(v, ids) for v in value]
    if isinstance(value, tuple):
        return tuple(_bind_value(v, ids) for v in value)
    return value


def _bind(req: ApiRequest, ids: Sequence[str]) -> ApiRequest:
    """The request with every placeholder replaced by the ID it stands for."""
    return replace(req, path=_bind_value(req.path, ids), path_params=_bind_value(dict(req.path_params), ids),
                   params=_bind_value(dict(req.params), ids), label=_bind_value(req.label, ids),
                   raw_pairs=_bind_value(req.raw_pairs, ids))


_CACHE_SIZE = 512
_cache: OrderedDict[tuple[Any, ...], SearchStrategy[ApiRequest] | Exception] = OrderedDict()


def _once(kind: str, op: Operation, refs: Refs, build: Callable[[Operation, Refs], SearchStrategy[ApiRequest]],
          *extra: Any) -> SearchStrategy[ApiRequest]:
    """`build(op, refs)`, built once per operation and pool shape and bound to `refs`' IDs per draw. A build
    that raises (MissingReference, ...) raises again, from the cache, for every later call with that shape."""
    shaped, ids, key = _shape(refs)
    full_key = (kind, op.operation_id, id(op), *extra, key)
    cached = _cache.get(full_key)
    if cached is None:
        try:
            cached = build(op, shaped)
        except (MissingReference, ValueError) as exc:
            cached = exc
        _cache[full_key] = cached
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(full_key)
    if isinstance(cached, Exception):
        raise _unshaped(cached, ids)
    return cached.map(lambda req: _bind(req, ids)) if ids else cached


def _unshaped(exc: Exception, ids: Sequence[str]) -> Exception:
    """The cached error, its message naming the real IDs rather than placeholders."""
    if isinstance(exc, MissingReference):
        return MissingReference(exc.kind, exc.operation, _bind_value(exc.detail, ids))
    return type(exc)(_bind_value(str(exc), ids))


# --------------------------------------------------------------------------- public strategies


def valid_requests(op: Operation, refs: Refs) -> SearchStrategy[ApiRequest]:
    """Requests the contract and the target's state both accept (2xx expected).

    :param op: the operation (from `contracts.loader`).
    :param refs: the existing objects the request may name, by kind (`Refs`); path parameters and ID fields are
        drawn from them as the operation's hints say (`strategies.hints.OPERATION_HINTS`).
    :returns: a strategy of `ApiRequest` (``kind="valid"``): method, path with its IDs filled in, nested
        ``params`` (encode them with the form codec), and a ``label`` saying which variant was drawn.
    :raises MissingReference: when building the strategy, if `refs` has no object of a kind the operation needs.
    """
    return _once("valid", op, refs, lambda o, r: _requests(o, r, "valid", "valid"))


def boundary_requests(op: Operation, refs: Refs, *, full_arrays: bool = False) -> SearchStrategy[ApiRequest]:
    """Valid requests at the edges: maxLength strings, min/max integers, maxItems arrays (capped at 20 unless
    `full_arrays`, the dedicated case that builds e.g. 250 lines), 50-key metadata, "" where it unsets.

    Same parameters, result (``kind="boundary"``) and errors as `valid_requests`.
    """
    return _once("boundary", op, refs, lambda o, r: _requests(o, r, "boundary", "boundary", full_arrays=full_arrays),
                 full_arrays)


def invalid_requests(op: Operation, refs: Refs) -> SearchStrategy[ApiRequest]:
    """A valid request plus exactly one defect, labelled with the 400 the server must answer.

    :returns: a strategy of `ApiRequest` (``kind="invalid"``) whose ``expected`` is the error (`Expected`: status,
        type, and the ``param``/``code`` where the defect makes them certain) and ``defect`` the family planted
        (``"unknown"``, ``"range"``, ``"malformed"``, ...); a malformed encoding comes as ``raw_pairs`` to send
        as they are instead of ``params``.
    :raises MissingReference: as `valid_requests`.
    """
    return _once("invalid", op, refs, _invalid_requests)


def _invalid_requests(op: Operation, refs: Refs) -> SearchStrategy[ApiRequest]:
    built = _built(op, refs, "valid")

    def plant(index: int, params: dict[str, Any]) -> SearchStrategy[ApiRequest]:
        variant = built[index][0]
        families: dict[str, list[Callable[[], ApiRequest]]] = {}
        for defect in defects(op.request_schema, params):
            families.setdefault(defect.family, []).append(
                lambda d=defect: _invalid(op, variant, params, d))  # applied only when drawn (a deep copy each)
        for label, pairs in _malformed(params):
            families.setdefault("malformed", []).append(lambda label=label, pairs=pairs: _request(
                op, variant, params, "invalid", label, expected=Expected(), raw_pairs=pairs,
                defect="malformed"))
        if "expand" in (op.request_schema.get("properties") or {}):
            for label, paths in _bad_expands():
                families.setdefault("expand", []).append(lambda label=label, paths=paths: _request(
                    op, variant, {**params, "expand": paths}, "invalid", label, expected=Expected(),
                    defect="expand"))
        if op.method == "POST":
            for label, headers in _bad_headers():
                families.setdefault("header", []).append(lambda label=label, headers=headers: replace(_request(
                    op, variant, params, "invalid", label, expected=Expected(), defect="header"), headers=headers))
        # Hypothesis draws the simplest example first (the first family): rotating the order per operation makes
        # the first examples of the 50 operations (a first pass of one example each) plant every family.
        order = sorted(families)
        turn = zlib.crc32(op.operation_id.encode()) % len(order)
        return st.sampled_from(order[turn:] + order[:turn]).flatmap(
            lambda family: st.sampled_from(families[family]).map(lambda make: make()))

    return _pick(built).flatmap(lambda index: built[index][1].flatmap(lambda params: plant(index, params)))


def _invalid(op: Operation, variant: _Variant, params: Mapping[str, Any], defect: Defect) -> ApiRequest:
    return _request(op, variant, defect.apply(params), "invalid", defect.label,
                    expected=Expected(param=defect.param, code=defect.code), defect=defect.family)


_INDEX = re.compile(r"\[(\d+)\]")


def _bad_expands() -> list[tuple[str, list[str]]]:
    """`expand` values no response allows: `id` is a plain string everywhere, and paths deeper than Stripe's four
    levels ("You cannot expand more than 4 levels of a property")."""
    return [("expand of a field that is not expandable (id)", ["id"]),
            ("expand of an unknown field", ["no_such_field"]),
            ("expand deeper than four levels", ["a.b.c.d.e"])]


def _bad_headers() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Header defects of a POST: Stripe's Idempotency-Key is 1 to 255 characters."""
    return [("empty Idempotency-Key", (("Idempotency-Key", ""),)),
            ("Idempotency-Key of 256 characters", (("Idempotency-Key", "k" * 256),))]


def _malformed(params: Mapping[str, Any]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Encodings no nested dict can express; each one alone makes the body ambiguous (any 400 will do)."""
    pairs = encode(params)
    key, value = pairs[0] if pairs else ("bogus", "1")
    base = pairs or [(key, value)]
    out = [
        (f"duplicate key {key}", [*base, (key, value + "2")]),
        (f"{key} sent both as a value and as a hash", [*base, (f"{key}[extra]", "1")]),
        ("unclosed bracket in a key", [*pairs, ("metadata[unclosed", "1")]),
        ("key starting with '['", [*pairs, ("[leading]", "1")]),
        ("text after ']' in a key", [*pairs, ("expand[0]x", "1")]),
        ("array index of 4,301 digits", [*pairs, (f"expand[{'9' * 4301}]", "id")]),
        ("array index beyond 64 bits", [*pairs, (f"expand[{10**20}]", "id")]),
    ]
    indexed = next((k for k, _ in pairs if _INDEX.search(k)), None)
    if indexed is not None:
        match = _INDEX.search(indexed)
        assert match is not None
        sparse = indexed[: match.start()] + "[999]" + indexed[match.end():]
        out.append((f"sparse array index {sparse}", [*pairs, (sparse, "1")]))
        out.append((f"'[]' mixed with indices in {indexed[: match.start()]}",
                    [*pairs, (indexed[: match.start()] + "[]", "1")]))
    return [(label, tuple(p)) for label, p in out]
