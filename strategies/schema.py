"""Request schemas -> Hypothesis strategies of valid values, and the single-defect mutations of such values.

The dialect is the one `contracts/openapi.yaml` uses for requests: type string/integer/number/boolean/array/object,
enum, min/maxLength, minimum/maximum, items/maxItems, properties/required/additionalProperties, anyOf (with
Stripe's "emptyable" `anyOf: [<schema>, {type: string, enum: [""]}]`) and metadata hashes (maxProperties,
x-key-max-length). Values are plain Python (str/int/float/bool/list/dict) nested like the request, ready for
`wire.codec.encode`.

Everything the schema cannot say comes from hints (`strategies.hints`), looked up by the value's path with array
indices written `*`: `values(schema, hints={"lines[*][period]": Ordered("start", "end")})`.

Three generation modes share one walker: "valid" (small, varied values), "boundary" (values at their edges:
strings at maxLength, integers at minimum/maximum, arrays at maxItems, 50-key metadata) and "minimal" (required
properties only; used for the bulk items of big arrays so boundary requests stay small).
"""

from __future__ import annotations

import copy
import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from contracts.validation import is_empty_marker, schema_branches, schema_shapes, schema_type, value_shape
from strategies.hints import (
    Attr,
    Bound,
    Exclusive,
    Expand,
    FromSchema,
    Hint,
    HintSpec,
    HintTable,
    Items,
    Match,
    NoEmpty,
    Omit,
    OnlyWith,
    Ordered,
    Range,
    Ref,
    Require,
    SearchQuery,
    Subset,
    Unavailable,
    Use,
    split_path,
)
from wire.errors import PARAMETER_INVALID_EMPTY, PARAMETER_INVALID_INTEGER, PARAMETER_MISSING, PARAMETER_UNKNOWN

__all__ = [
    "BOUNDARY_ARRAY_CAP",
    "DEFAULT_INTEGER_RANGE",
    "STRING_CAP",
    "Defect",
    "Mode",
    "Unbuildable",
    "boundary_values",
    "defects",
    "minimal_values",
    "values",
]

Mode = Literal["valid", "boundary", "minimal"]

DEFAULT_INTEGER_RANGE = (-(10**6), 10**9)
"""Unbounded integers without a hint: wide, but far from int64 (hints narrow amounts and timestamps)."""
DEFAULT_NUMBER_RANGE = (0, 10**6)
STRING_CAP = 5000
"""Boundary strings are at most this long, whatever maxLength says."""
BOUNDARY_ARRAY_CAP = 20
"""Boundary arrays stop here unless a hint allows the dedicated full-size case (e.g. 250 lines)."""
VALID_ARRAY_MAX = 3
VALID_STRING_MAX = 30
MINIMAL_STRING_MAX = 8
VALID_METADATA_KEYS = 3
MAP_KEYS_CAP = 20  # free-form hashes without maxProperties
FULL_ARRAY_DISTINCT = 3  # a full-size array cycles through this many distinct items

METADATA_KEY_ALPHABET = string.ascii_lowercase + string.digits + "_"
_IDENT_ALPHABET = string.ascii_letters + string.digits + "_-"
_LONG_ALPHABET = string.ascii_letters + string.digits + " .-_"
_VALUE_TYPES = (Omit, Use, FromSchema, Unavailable)
_UNRESOLVED = (Ref, Match, Attr, Bound, Expand, SearchQuery)


class Unbuildable(Exception):
    """A value cannot be generated: a hint omits a required part, or needs an object (`kind`) the target lacks."""

    def __init__(self, path: str, reason: str, kind: str | None = None) -> None:
        super().__init__(f"{path or '<root>'}: {reason}")
        self.path = path
        self.reason = reason
        self.kind = kind


# --------------------------------------------------------------------------- public entry points


def values(schema: Mapping[str, Any], *, path: str = "",
           hints: HintTable | Mapping[str, HintSpec] | None = None) -> SearchStrategy[Any]:
    """Valid values of `schema`: every required property, random subsets of optional ones, small leaves.

    :param schema: an OpenAPI 3.0 request schema with every ``$ref`` inlined (`Operation.request_schema`).
    :param path: the bracketed path of `schema` inside the request (``""`` for the whole request), which hint
        patterns are matched against.
    :param hints: what the schema cannot say (`strategies.hints`): per bracketed path, a value strategy, a
        reference to an existing object, or an object rule.
    :returns: a strategy of plain Python values (dicts, lists, str, int, bool; decimals as strings) ready for the
        form codec.
    :raises Unbuildable: when building, if a hint omits a required part or names an object the pools lack.
    :raises ValueError: a ``$ref`` left in `schema`.
    """
    return _Builder(HintTable.of(hints)).root(schema, path, "valid")


def boundary_values(schema: Mapping[str, Any], *, path: str = "",
                    hints: HintTable | Mapping[str, HintSpec] | None = None,
                    full_arrays: bool = False) -> SearchStrategy[Any]:
    """Valid values at their edges; `full_arrays` builds arrays whose hint allows it at their real maxItems.

    Parameters, result and errors as `values`.
    """
    return _Builder(HintTable.of(hints), full_arrays=full_arrays).root(schema, path, "boundary")


def minimal_values(schema: Mapping[str, Any], *, path: str = "",
                   hints: HintTable | Mapping[str, HintSpec] | None = None) -> SearchStrategy[Any]:
    """Valid values with required properties only (plus what hints require): the smallest accepted shape.

    Parameters, result and errors as `values`.
    """
    return _Builder(HintTable.of(hints)).root(schema, path, "minimal")


# --------------------------------------------------------------------------- schema helpers


def _is_mapping(schema: Mapping[str, Any]) -> bool:
    """A free-form hash such as metadata: no declared properties, a schema for every value."""
    return not schema.get("properties") and isinstance(schema.get("additionalProperties"), Mapping)


def _is_closed(schema: Mapping[str, Any]) -> bool:
    extra = schema.get("additionalProperties")
    return extra is False or (extra is None and "properties" in schema)


def _render(segments: Sequence[str | int]) -> str:
    if not segments:
        return ""
    return str(segments[0]) + "".join(f"[{seg}]" for seg in segments[1:])


def _last(found: Sequence[Hint], types: tuple[type, ...]) -> Any:
    for hint in reversed(found):
        if isinstance(hint, types):
            return hint
    return None


def _rules(found: Sequence[Hint], kind: type) -> list[Any]:
    out: list[Any] = []
    for hint in found:
        if isinstance(hint, kind) and hint not in out:
            out.append(hint)
    return out


# --------------------------------------------------------------------------- leaf strategies


def _tidy(text: str) -> str:
    """No whitespace at either end (servers may strip it, and then the echo would differ)."""
    if text[:1].isspace():
        text = "x" + text[1:]
    if text[-1:].isspace():
        text = text[:-1] + "x"
    return text


def _text(min_size: int, max_size: int) -> SearchStrategy[str]:
    ident = st.text(alphabet=_IDENT_ALPHABET, min_size=min_size, max_size=max_size)
    prose = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")),
                    min_size=min_size, max_size=max_size).map(_tidy)
    return st.one_of(ident, ident, ident, prose)  # mostly ASCII identifiers, sometimes any printable text


def _text_of_length(length: int) -> SearchStrategy[str]:
    """Exactly `length` ASCII characters, cheaply: a short drawn seed repeated (long draws overrun Hypothesis)."""
    if length <= 16:
        return st.text(alphabet=_IDENT_ALPHABET, min_size=length, max_size=length)
    seed = st.text(alphabet=_LONG_ALPHABET, min_size=1, max_size=8)
    return seed.map(lambda s: _tidy((s * (length // len(s) + 1))[:length]))


def _decimal_strings(mode: Mode) -> SearchStrategy[str]:
    if mode == "boundary":
        # the largest whole part and the most places, apart: x quantity (<= 100) a unit amount stays within 8 digits
        return st.sampled_from(("0", "0.000000000001", "999999.000000000001"))
    whole = st.integers(0, 999_998)  # below 999,999 whole units: x 100 stays within 8 digits, places included
    fraction = st.integers(1, 12).flatmap(lambda places: st.integers(0, 10**places - 1).map(
        lambda n: f"{n:0{places}d}"))
    return st.one_of(whole.map(str), st.builds(lambda w, f: f"{w}.{f}", whole, fraction))


def _metadata_keys(max_size: int) -> SearchStrategy[str]:
    """Keys of [a-z0-9_] that are not all digits (`metadata[0]` would be read as an array index)."""
    return st.text(alphabet=METADATA_KEY_ALPHABET, min_size=1, max_size=max_size).map(
        lambda key: "k" + key[1:] if key.isdigit() else key)


def _cycle(items: list[Any], size: int) -> list[Any]:
    return [copy.deepcopy(items[i % len(items)]) for i in range(size)]


# --------------------------------------------------------------------------- objects


@dataclass
class _ObjectSpec:
    order: list[str]
    strategies: dict[str, SearchStrategy[Any]]
    always: set[str]
    exclusive: list[tuple[tuple[tuple[str, ...], ...], bool, frozenset[str]]]
    ordered: list[Ordered]
    only_with: list[OnlyWith]
    subsets: list[Subset]
    optional_odds: int  # an optional property is sent with probability 1/odds (0: never)
    nonempty: bool
    fallback: list[str] = field(default_factory=list)


@st.composite
def _object(draw: st.DrawFn, spec: _ObjectSpec) -> dict[str, Any]:
    present = set(spec.always)
    excluded: set[str] = set()
    maybe: set[str] = set()
    for groups, required, members in spec.exclusive:
        choices = list(range(len(groups))) if required else [-1, *range(len(groups))]
        chosen = draw(st.sampled_from(choices)) if choices else -1
        excluded |= members - (set(groups[chosen]) if chosen >= 0 else set())
        if chosen >= 0:
            (present if required else maybe).update(groups[chosen])
    free = [n for n in spec.order if n not in present and n not in excluded]
    for name in free:
        if spec.optional_odds and (name in maybe or not any(name in m for _, _, m in spec.exclusive)) \
                and draw(st.integers(0, spec.optional_odds - 1)) == 0:
            present.add(name)
    out = {name: draw(spec.strategies[name]) for name in spec.order if name in present}
    for rule in spec.only_with:
        if out.get(rule.key) != rule.value:
            for name in rule.names:
                if name not in spec.always:
                    out.pop(name, None)
    for rule in spec.subsets:
        items, allowed = out.get(rule.name), out.get(rule.of)
        if isinstance(items, list):
            kept = [item for item in items if isinstance(allowed, list) and item in allowed]
            if kept:
                out[rule.name] = kept
            elif rule.name not in spec.always:
                del out[rule.name]
    for rule in spec.ordered:
        low, high = out.get(rule.low), out.get(rule.high)
        if isinstance(low, int) and isinstance(high, int) and low > high:
            out[rule.low], out[rule.high] = high, low
    if spec.nonempty and not out:
        candidates = [n for n in spec.fallback if n not in excluded]
        assume(bool(candidates))
        name = draw(st.sampled_from(candidates))
        out[name] = draw(spec.strategies[name])
    return out


# --------------------------------------------------------------------------- the walker


class _Builder:
    """One walk of a schema: hints looked up by path at every node, strategies built eagerly so that a part that
    cannot be generated (`Unbuildable`) is known before any example is drawn."""

    def __init__(self, hints: HintTable, *, full_arrays: bool = False) -> None:
        self.hints = hints
        self.full_arrays = full_arrays

    def root(self, schema: Mapping[str, Any], path: str, mode: Mode) -> SearchStrategy[Any]:
        return self.node(schema, split_path(path), mode, required=True)

    def node(self, schema: Mapping[str, Any], segs: list[str], mode: Mode, *, required: bool) -> SearchStrategy[Any]:
        found = self.hints.lookup(segs)
        for hint in found:
            if isinstance(hint, _UNRESOLVED):
                raise TypeError(f"Unresolved hint {hint!r} at {_render(segs) or '<root>'}: reference hints are "
                                "resolved by strategies.requests against a Refs pool")
        value_hint = _last(found, _VALUE_TYPES)
        where = _render(segs)
        if isinstance(value_hint, Omit):
            raise Unbuildable(where, value_hint.reason or "omitted by a hint")
        if isinstance(value_hint, Unavailable):
            raise Unbuildable(where, value_hint.reason or f"needs an existing {value_hint.kind}", value_hint.kind)
        if isinstance(value_hint, Use):
            if mode == "boundary" and value_hint.boundary is not None:
                return value_hint.boundary
            return value_hint.strategy
        return self.schema_node(schema, segs, mode, found, required=required)

    def schema_node(self, schema: Mapping[str, Any], segs: list[str], mode: Mode, found: list[Hint], *,
                    required: bool) -> SearchStrategy[Any]:
        if "$ref" in schema:
            raise ValueError(f"Unresolved $ref at {_render(segs) or '<root>'}: inline the schema first")
        branches = schema_branches(schema)
        if branches is not None:
            return self.any_of(branches, segs, mode, found, required=required)
        kind = schema_type(schema)
        if kind == "object":
            return self.obj(schema, segs, mode, found)
        if kind == "array":
            return self.array(schema, segs, mode, found)
        if kind == "string":
            return self.string(schema, mode)
        if kind == "integer":
            return self.integer(schema, mode, found)
        if kind == "number":
            return self.number(schema, mode, found)
        if kind == "boolean":
            return st.booleans()
        if kind is None:
            return _text(1, VALID_STRING_MAX)  # an unconstrained value: any string is accepted
        raise ValueError(f"Unsupported schema type {kind!r} at {_render(segs) or '<root>'}")

    def any_of(self, branches: list[Mapping[str, Any]], segs: list[str], mode: Mode, found: list[Hint], *,
               required: bool) -> SearchStrategy[Any]:
        real = [b for b in branches if not is_empty_marker(b)]
        emptyable = len(real) < len(branches) and not any(isinstance(h, NoEmpty) for h in found)
        built, errors = [], []
        for branch in real:
            try:
                built.append(self.schema_node(branch, segs, mode, found, required=required))
            except Unbuildable as exc:
                errors.append(exc)
        if not built:
            if emptyable and required:
                return st.just("")
            raise errors[0] if errors else Unbuildable(_render(segs), "no branch of the anyOf can be sent")
        if mode == "minimal" or not emptyable:
            return built[0] if mode == "minimal" else st.one_of(built)
        weight = 7 if mode == "valid" else 3  # "" (unset) is an edge: more frequent in boundary requests
        return st.one_of(*(built * weight), st.just(""))

    def obj(self, schema: Mapping[str, Any], segs: list[str], mode: Mode, found: list[Hint]) -> SearchStrategy[Any]:
        if _is_mapping(schema):
            return self.mapping(schema, segs, mode)
        where = _render(segs)
        props: Mapping[str, Any] = schema.get("properties") or {}
        required = [n for n in schema.get("required") or () if n in props]
        strategies: dict[str, SearchStrategy[Any]] = {}
        dropped: dict[str, Unbuildable] = {}
        for name, sub in props.items():
            try:
                strategies[name] = self.node(sub, [*segs, name], mode, required=name in required)
            except Unbuildable as exc:
                if name in required:
                    raise
                dropped[name] = exc
        always = set(required)
        for rule in _rules(found, Require):
            for name in rule.names:
                if name in dropped:
                    raise dropped[name]
                if name in strategies:
                    always.add(name)
        exclusive = []
        for rule in _rules(found, Exclusive):
            members = frozenset(n for g in rule.groups for n in g)
            groups = [g for g in rule.groups if all(n in strategies for n in g)]
            pinned = [g for g in groups if set(g) & always]
            groups = pinned or groups
            if rule.required and not groups:
                missing = [dropped[n] for g in rule.groups for n in g if n in dropped]
                raise missing[0] if missing else Unbuildable(where, f"none of {rule.groups} can be sent")
            exclusive.append((tuple(groups), rule.required, members & set(strategies)))
        grouped = {n for _, _, members in exclusive for n in members}
        dependent = {n for rule in _rules(found, OnlyWith) for n in rule.names}
        dependent |= {rule.name for rule in _rules(found, Subset)}
        order = [n for n in props if n in strategies]
        fallback = [n for n in order if n not in always and n not in grouped and n not in dependent]
        nonempty = bool(segs)
        if nonempty and not always and not any(req for _, req, _ in exclusive) and not fallback:
            if not any(groups for groups, _, _ in exclusive):
                raise Unbuildable(where, "no property of this object can be sent, and it may not be empty")
            fallback = [n for n in order if n in grouped]
        odds = {"valid": 3, "boundary": 2, "minimal": 0}[mode]
        spec = _ObjectSpec(order, strategies, always, exclusive, _rules(found, Ordered), _rules(found, OnlyWith),
                           _rules(found, Subset), odds, nonempty, fallback)
        return _object(spec)

    def mapping(self, schema: Mapping[str, Any], segs: list[str], mode: Mode) -> SearchStrategy[Any]:
        """Metadata-like hashes: keys of [a-z0-9_], string values; never empty (the "" branch means unset)."""
        value_schema = schema["additionalProperties"]
        max_keys = schema.get("maxProperties") or MAP_KEYS_CAP
        key_max = schema.get("x-key-max-length") or 40
        value_max = (value_schema.get("maxLength") or 500) if schema_type(value_schema) == "string" else None
        if value_max is None:
            value_strategy = self.node(value_schema, [*segs, "*"], mode, required=True)
            keys = _metadata_keys(min(key_max, 20))
            return st.dictionaries(keys, value_strategy, min_size=1, max_size=min(VALID_METADATA_KEYS, max_keys))
        if mode == "boundary":
            return st.builds(
                _metadata_of,
                st.sampled_from(sorted({1, max_keys})), st.sampled_from(sorted({min(3, key_max), key_max})),
                st.sampled_from(sorted({1, value_max})),
                st.text(alphabet=METADATA_KEY_ALPHABET, min_size=1, max_size=4),
                st.text(alphabet=_LONG_ALPHABET, min_size=1, max_size=8),
            )
        keys = _metadata_keys(min(key_max, 20))
        vals = _text(1, min(value_max, VALID_STRING_MAX if mode == "valid" else MINIMAL_STRING_MAX))
        most = 1 if mode == "minimal" else min(VALID_METADATA_KEYS, max_keys)
        return st.dictionaries(keys, vals, min_size=1, max_size=most)

    def array(self, schema: Mapping[str, Any], segs: list[str], mode: Mode, found: list[Hint]) -> SearchStrategy[Any]:
        items_schema = schema.get("items") or {}
        hint: Items = _last(found, (Items,)) or Items()
        max_items = schema.get("maxItems")
        min_items = max(1, schema.get("minItems") or 0)  # [] is sent as "" (unset): never an empty list
        item_segs = [*segs, "*"]
        enum = None
        if _last(self.hints.lookup(item_segs), _VALUE_TYPES) is None and schema_branches(items_schema) is None:
            enum = items_schema.get("enum")

        def item(item_mode: Mode) -> SearchStrategy[Any]:
            return self.node(items_schema, item_segs, item_mode, required=True)

        def unique_key(value: Any) -> Any:
            return value.get(hint.unique_by) if isinstance(value, dict) else value

        if mode == "minimal":
            return st.lists(item("minimal"), min_size=min_items, max_size=min_items)
        if mode == "valid":
            top = min(x for x in (max_items, hint.max_size or VALID_ARRAY_MAX) if x is not None)
            if enum is not None:
                top = min(top, len(enum))
                return st.lists(st.sampled_from(enum), min_size=min(min_items, top), max_size=top, unique=True)
            top = max(top, min_items)
            if hint.unique_by:
                return st.lists(item("valid"), min_size=min_items, max_size=top, unique_by=unique_key)
            return st.lists(item("valid"), min_size=min_items, max_size=top)
        if self.full_arrays and hint.full and max_items:
            top = max_items
            return st.lists(item("minimal"), min_size=1, max_size=FULL_ARRAY_DISTINCT).map(
                lambda items: _cycle(items, top))
        cap = hint.boundary_max or BOUNDARY_ARRAY_CAP
        top = max(min(max_items, cap) if max_items else cap, min_items)
        sizes = sorted({min_items, top})
        if enum is not None:
            unique = top <= len(enum)
            return st.sampled_from(sizes).flatmap(lambda n: st.lists(
                st.sampled_from(enum), min_size=n, max_size=n, unique=unique and n <= len(enum)))
        if hint.unique_by:
            return st.lists(item("valid"), min_size=min_items, max_size=top, unique_by=unique_key)
        first, rest = item("boundary"), item("minimal")
        return st.sampled_from(sizes).flatmap(lambda n: st.builds(
            lambda head, tail: [head, *tail], first, st.lists(rest, min_size=n - 1, max_size=n - 1)))

    def string(self, schema: Mapping[str, Any], mode: Mode) -> SearchStrategy[str]:
        enum = schema.get("enum")
        if enum is not None:
            return st.sampled_from(list(enum))
        if schema.get("format") == "decimal":
            return _decimal_strings(mode)
        low = max(1, schema.get("minLength") or 0)  # "" would mean "unset": only the emptyable branch sends it
        high = schema.get("maxLength")
        if mode == "boundary":
            top = max(low, min(high, STRING_CAP) if high is not None else STRING_CAP)
            return st.sampled_from(sorted({low, top})).flatmap(_text_of_length)
        cap = VALID_STRING_MAX if mode == "valid" else MINIMAL_STRING_MAX
        return _text(low, max(low, min(high, cap) if high is not None else cap))

    def integer(self, schema: Mapping[str, Any], mode: Mode, found: list[Hint]) -> SearchStrategy[int]:
        if schema.get("enum") is not None:
            return st.sampled_from(list(schema["enum"]))
        low, high = _bounds(schema, found, DEFAULT_INTEGER_RANGE)
        low, high = math.ceil(low), math.floor(high)
        if mode == "boundary":
            return st.sampled_from(sorted({low, high}))
        return st.integers(low, high)

    def number(self, schema: Mapping[str, Any], mode: Mode, found: list[Hint]) -> SearchStrategy[float]:
        low, high = _bounds(schema, found, DEFAULT_NUMBER_RANGE)
        if mode == "boundary":
            return st.sampled_from(sorted({float(low), float(high)}))
        return st.integers(math.ceil(low * 100), math.floor(high * 100)).map(lambda n: n / 100)


def _bounds(schema: Mapping[str, Any], found: list[Hint], default: tuple[float, float]) -> tuple[float, float]:
    low, high = schema.get("minimum"), schema.get("maximum")
    hint: Range | None = _last(found, (Range,))
    if hint is not None:
        if hint.min_value is not None:
            low = hint.min_value if low is None else max(low, hint.min_value)
        if hint.max_value is not None:
            high = hint.max_value if high is None else min(high, hint.max_value)
    low = default[0] if low is None else low
    high = max(low, default[1]) if high is None else high
    if low > high:
        raise ValueError(f"Empty range {low}..{high}: a Range hint contradicts the schema")
    return low, high


# (key, value) the harness puts on every object it creates (harness.runinfo: the run's tag); None: no tag.
RUN_TAG: tuple[str, str] | None = None


def tag_metadata_with(key: str, value: str) -> None:
    """Make every full-size boundary metadata hash carry this pair as one of its keys (see `_metadata_of`)."""
    global RUN_TAG
    RUN_TAG = (key, value)


def _metadata_of(count: int, key_length: int, value_length: int, key_seed: str, value_seed: str) -> dict[str, str]:
    """`count` distinct keys of exactly `key_length` characters (when count > 1, at least 3 keep them distinct).

    With a run tag set and count > 1, the last key is the tag: an update of a tagged object then still leaves
    `count` keys in all (Stripe counts the merged metadata against its 50-key limit), and objects created
    with this hash carry the tag too.
    """
    if count > 1:
        key_length = max(key_length, 3)
    keys = []
    for index in range(count):
        stem = f"k{index:02d}" if count > 1 else "k"  # a letter first: all-digit keys read as array indices
        keys.append((stem + key_seed * key_length)[:key_length])
    value = _tidy((value_seed * (value_length // len(value_seed) + 1))[:value_length])
    out = dict.fromkeys(keys, value)
    if RUN_TAG is not None and count > 1:
        del out[keys[-1]]
        out[RUN_TAG[0]] = RUN_TAG[1]
    return out


# --------------------------------------------------------------------------- defects

_DELETE: Any = object()


@dataclass(frozen=True)
class Defect:
    """One contract violation planted in an otherwise valid value: where, what the server must name, and how."""

    family: str
    location: tuple[str | int, ...]
    param: str
    code: str | None
    label: str
    value: Any = field(default=_DELETE, repr=False)

    @property
    def deletes(self) -> bool:
        return self.value is _DELETE

    def apply(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A deep copy of `params` with the defect planted."""
        out = copy.deepcopy(dict(params))
        node: Any = out
        for step in self.location[:-1]:
            node = node[step]
        last = self.location[-1]
        if self.deletes:
            del node[last]
        else:
            node[last] = copy.deepcopy(self.value)
        return out


def _target(real: list[Mapping[str, Any]], value: Any) -> Mapping[str, Any] | None:
    """The branch a validator reports for `value` (the one of its shape), when exactly one can be meant."""
    candidates = [b for b in real if value_shape(value) in schema_shapes(b)] or real
    return candidates[0] if len(candidates) == 1 else None


_NOT_INTEGERS = ("abc", "1.5", "12abc")
_NOT_NUMBERS = ("abc", "1,5", "12abc")
_NOT_BOOLEANS = ("not_a_boolean", "maybe")
_INT64_OVERFLOW = str(2**63)
_INT64_UNDERFLOW = str(-(2**63) - 1)
_BAD_DECIMALS = ("1e999999", "1." + "1" * 13, "9" * 30)
"""Decimals no Stripe decimal field accepts: a huge exponent, 13 places, 30 digits (each well-formed for a naive
parser, and 1e999999 made a mock stall for a minute)."""
_BAD_ENUM = "not_a_valid_choice"
_NESTED = {"nested": "1"}


def defects(schema: Mapping[str, Any], value: Any) -> list[Defect]:
    """Every single-defect mutation of `value` (valid for `schema`) whose error is certain from the schema alone.

    Each defect's `param` is the bracketed path the server must name; `code` is set only where Stripe's code is
    certain (parameter_missing, parameter_unknown, parameter_invalid_integer, parameter_invalid_empty). Places
    where a validator could blame more than one anyOf branch are skipped.
    """
    out: list[Defect] = []
    _Finder(out).node(schema, value, (), required=False, removable=False)
    return out


class _Finder:
    def __init__(self, out: list[Defect]) -> None:
        self.out = out

    def add(self, family: str, loc: tuple[str | int, ...], label: str, value: Any = _DELETE, *,
            code: str | None = None, param: str | None = None) -> None:
        self.out.append(Defect(family, loc, param or _render(loc), code, label, value))

    def node(self, schema: Mapping[str, Any], value: Any, loc: tuple[str | int, ...], *, required: bool,
             removable: bool) -> None:
        if removable:
            self.add("missing", loc, f"missing required {_render(loc)}", code=PARAMETER_MISSING)
        branches = schema_branches(schema)
        if branches is None:
            self.replacements(schema, loc, required=required, emptyable=False, real=[schema], current=value)
            self.inside(schema, value, loc)
            return
        real = [b for b in branches if not is_empty_marker(b)]
        emptyable = len(real) < len(branches)
        for branch in real:
            self.replacements(branch, loc, required=required, emptyable=emptyable, real=real, current=value)
        if value == "":
            return
        target = _target(real, value)
        if target is not None and value_shape(value) in schema_shapes(target):
            self.inside(target, value, loc)

    def absent(self, schema: Mapping[str, Any], loc: tuple[str | int, ...]) -> None:
        """Defects that add an optional property which the valid value left out."""
        branches = schema_branches(schema)
        real = [b for b in branches if not is_empty_marker(b)] if branches is not None else [schema]
        emptyable = branches is not None and len(real) < len(branches)
        for branch in real:
            self.replacements(branch, loc, required=False, emptyable=emptyable, real=real, current=_DELETE)

    def replacements(self, schema: Mapping[str, Any], loc: tuple[str | int, ...], *, required: bool,
                     emptyable: bool, real: list[Mapping[str, Any]], current: Any) -> None:
        """Defects that replace the whole value at `loc`, kept only where `schema` is the branch blamed."""
        found: list[Defect] = []
        where = _render(loc)

        def bad(family: str, label: str, value: Any, code: str | None = None, param: str | None = None) -> None:
            if _target(real, value) is schema:
                found.append(Defect(family, loc, param or where, code, label, value))

        kind = schema_type(schema)
        allows_empty = emptyable or (kind == "string" and not required and _string_allows_empty(schema))
        if loc and not allows_empty:
            bad("empty", f"empty string for {where}, which cannot be unset", "", PARAMETER_INVALID_EMPTY)
        if kind == "integer":
            for text in _NOT_INTEGERS:
                bad("type", f"{where}={text!r} is not an integer", text, PARAMETER_INVALID_INTEGER)
            low, high = schema.get("minimum"), schema.get("maximum")
            outside = {low - 1 if low is not None else None, high + 1 if high is not None else None}
            if low is not None and low > -1:
                outside.add(-1)
            for number in sorted(n for n in outside if n is not None):
                bad("range", f"{where}={number} outside {low}..{high}", number, PARAMETER_INVALID_INTEGER)
            bad("range", f"{where} beyond 64 bits", _INT64_OVERFLOW, PARAMETER_INVALID_INTEGER)
            bad("range", f"{where} below 64 bits", _INT64_UNDERFLOW, PARAMETER_INVALID_INTEGER)
        elif kind == "number":
            for text in _NOT_NUMBERS:
                bad("type", f"{where}={text!r} is not a number", text)
        elif kind == "boolean":
            for text in _NOT_BOOLEANS:
                bad("type", f"{where}={text!r} is not a boolean", text)
        elif kind == "string":
            enum = schema.get("enum")
            if enum is not None:
                if _BAD_ENUM not in enum:
                    bad("enum", f"{where}={_BAD_ENUM!r} is not one of its enum values", _BAD_ENUM)
            else:
                high, low = schema.get("maxLength"), schema.get("minLength") or 0
                if schema.get("format") == "decimal" and schema.get("pattern"):
                    for text in _BAD_DECIMALS:
                        bad("decimal", f"{where}={text[:20]!r} is outside the decimals it accepts", text)
                if high is not None:
                    bad("length", f"{where} longer than maxLength {high}", "a" * (high + 1))
                if low > 1:
                    bad("length", f"{where} shorter than minLength {low}", "a" * (low - 1))
            if loc:
                bad("shape", f"{where} given as a hash where a string is expected", dict(_NESTED))
        elif kind == "object" and loc:
            bad("shape", f"{where} given as a string where a hash is expected", "abc")
            if _is_mapping(schema):
                self.mapping_defects(schema, loc, bad)
        elif kind == "array" and loc:
            bad("shape", f"{where} given as a string where a list is expected", "abc")
            max_items = schema.get("maxItems")
            if max_items is not None and max_items <= 50 and isinstance(current, list) and current:
                too_many = _cycle(current, max_items + 1)
                bad("items", f"{where} with {max_items + 1} items, over maxItems {max_items}", too_many)
        self.out.extend(found)

    @staticmethod
    def mapping_defects(schema: Mapping[str, Any], loc: tuple[str | int, ...], bad: Any) -> None:
        where = _render(loc)
        max_keys, key_max = schema.get("maxProperties"), schema.get("x-key-max-length")
        value_max = (schema.get("additionalProperties") or {}).get("maxLength")
        if max_keys is not None:
            bad("metadata", f"{where} with {max_keys + 1} keys, over {max_keys}",
                {f"key_{i:02d}": "v" for i in range(max_keys + 1)})
        if key_max is not None:
            key = "k" * (key_max + 1)
            bad("metadata", f"{where} key of {key_max + 1} characters", {key: "v"}, param=f"{where}[{key}]")
        if value_max is not None:
            bad("metadata", f"{where} value of {value_max + 1} characters", {"note": "v" * (value_max + 1)},
                param=f"{where}[note]")

    def inside(self, schema: Mapping[str, Any], value: Any, loc: tuple[str | int, ...]) -> None:
        """Defects below the value: its properties and items."""
        kind = schema_type(schema)
        if kind == "object" and isinstance(value, dict) and not _is_mapping(schema):
            props: Mapping[str, Any] = schema.get("properties") or {}
            required = set(schema.get("required") or ())
            if _is_closed(schema):
                for key in _unknown_keys(props):
                    self.add("unknown", (*loc, key), f"unknown parameter {_render((*loc, key))}", "1",
                             code=PARAMETER_UNKNOWN)
            for name, sub in props.items():
                if name in value:
                    removable = name in required and (not loc or len(value) >= 2)
                    self.node(sub, value[name], (*loc, name), required=name in required, removable=removable)
                else:
                    self.absent(sub, (*loc, name))
        elif kind == "array" and isinstance(value, list):
            for index, item in enumerate(value):
                self.node(schema.get("items") or {}, item, (*loc, index), required=False, removable=False)


def _string_allows_empty(schema: Mapping[str, Any]) -> bool:
    enum = schema.get("enum")
    if enum is not None:
        return "" in enum
    return (schema.get("minLength") or 0) < 1


def _unknown_keys(props: Mapping[str, Any]) -> list[str]:
    """Two names the object does not declare: a generic one and a near-miss of a real property."""
    names = ["unknown_param"]
    if props:
        names.append(next(iter(props)) + "_x")
    return [n for n in names if n not in props]
