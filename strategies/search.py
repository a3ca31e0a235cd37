"""Hypothesis strategies for Stripe search queries, generated from the grammar in wire.search_query.

Valid queries draw their values from real objects so searches actually select something instead of
always returning nothing; malformed queries cover every rejection rule so the error path is fuzzed too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wire.search_query import (
    MAX_CLAUSES,
    MIN_SUBSTRING_LENGTH,
    SEARCHABLE_FIELDS,
    FieldSpec,
    quote_string,
)

__all__ = ["DEFAULT_METADATA_KEY", "malformed_queries", "search_queries"]

DEFAULT_METADATA_KEY = "order_id"
_COMPARISONS = (">", "<", ">=", "<=")
_NUMERIC_OPS = (":", *_COMPARISONS)
# Values used where a malformed query needs valid neighbours or a plausible value.
_SAMPLE_VALUES: dict[str, list[Any]] = {
    "status": ["draft", "open", "paid"],
    "customer": ["cus_123"],
    "currency": ["usd"],
    "number": ["ABCD-0001"],
    "total": [0, 500],
    "created": [1700000000],
    "metadata": [("order_id", "6735")],
}


def _render_string(text: str, single_quoted: bool) -> str:
    if not single_quoted:
        return quote_string(text)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _string_values(name: str, raw: Sequence[Any]) -> list[str]:
    out = []
    for value in raw:
        if value is None or value == "":
            continue  # objects often carry nulls; those are covered by null checks instead
        if not isinstance(value, str):
            raise TypeError(f"values[{name!r}] must hold strings, got {value!r}")
        out.append(value)
    return out


def _int_values(name: str, raw: Sequence[Any]) -> list[int]:
    out = []
    for value in raw:
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"values[{name!r}] must hold integers, got {value!r}")
        out.append(value)
    return out


def _metadata_pairs(raw: Sequence[Any] | Mapping[str, str]) -> list[tuple[str, str]]:
    items = list(raw.items()) if isinstance(raw, Mapping) else list(raw)
    pairs = []
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 2 and all(isinstance(p, str) for p in item)):
            raise TypeError(f"values['metadata'] must hold (key, value) string pairs, got {item!r}")
        if item[0] and item[1]:
            pairs.append((item[0], item[1]))
    return pairs


def _clamp(value: int) -> int:
    return max(-(2**63), min(2**63 - 1, value))  # Stripe's numeric fields are 64-bit


@st.composite
def _substring(draw: st.DrawFn, values: Sequence[str]) -> str:
    value = draw(st.sampled_from(values))
    start = draw(st.integers(0, len(value) - MIN_SUBSTRING_LENGTH))
    end = draw(st.integers(start + MIN_SUBSTRING_LENGTH, len(value)))
    return value[start:end]


def _clause_texts(values: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> SearchStrategy[str]:
    """Rendered single clauses (without negation) for every field the values, or null checks, can reach."""
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"values has fields that are not searchable: {unknown}")
    quote_style = st.booleans()  # True: single quotes, which Stripe's own examples use
    options: list[SearchStrategy[str]] = []
    null_checks: list[SearchStrategy[str]] = []  # one family in total, so nulls don't crowd out values
    metadata_keys = [DEFAULT_METADATA_KEY]
    for name, spec in fields.items():
        raw = values.get(name, [])
        if spec.kind == "metadata":
            pairs = _metadata_pairs(raw)
            metadata_keys = sorted({k for k, _ in pairs}) or metadata_keys
            if pairs:
                options.append(st.tuples(st.sampled_from(pairs), quote_style).map(
                    lambda t, n=name: f"{n}[{_render_string(t[0][0], t[1])}]:{_render_string(t[0][1], t[1])}"
                ))
            null_checks.append(st.tuples(st.sampled_from(metadata_keys), quote_style).map(
                lambda t, n=name: f"{n}[{_render_string(t[0], t[1])}]:null"
            ))
            continue
        null_checks.append(st.just(f"{name}:null"))
        if spec.kind == "number":
            ints = _int_values(name, raw)
            if ints:
                # Nudging by one probes both sides of each boundary the comparisons draw.
                nudged = st.tuples(st.sampled_from(ints), st.integers(-1, 1)).map(lambda t: _clamp(sum(t)))
                options.append(st.tuples(st.sampled_from(_NUMERIC_OPS), nudged).map(
                    lambda t, n=name: f"{n}{t[0]}{t[1]}"
                ))
            continue
        strings = _string_values(name, raw)
        if strings:
            options.append(st.tuples(st.sampled_from(strings), quote_style).map(
                lambda t, n=name: f"{n}:{_render_string(t[0], t[1])}"
            ))
        long_enough = [s for s in strings if len(s) >= MIN_SUBSTRING_LENGTH]
        if long_enough:
            options.append(st.tuples(_substring(long_enough), quote_style).map(
                lambda t, n=name: f"{n}~{_render_string(t[0], t[1])}"
            ))
    return st.one_of([*options, st.one_of(null_checks)])


def _clauses(values: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> SearchStrategy[str]:
    return st.tuples(st.booleans(), _clause_texts(values, fields)).map(lambda t: ("-" if t[0] else "") + t[1])


@st.composite
def _joined(draw: st.DrawFn, clause: SearchStrategy[str], min_size: int, max_size: int) -> str:
    clauses = draw(st.lists(clause, min_size=min_size, max_size=max_size))
    conjunction = draw(st.sampled_from(["AND", "OR"]))
    # Stripe accepts the keywords in any case, and plain whitespace as AND.
    spellings = [conjunction, conjunction.lower()] + ([""] if conjunction == "AND" else [])
    spelling = draw(st.sampled_from(spellings))
    separator = f" {spelling} " if spelling else " "
    padding = draw(st.sampled_from(["", " "]))
    return padding + separator.join(clauses) + padding


def search_queries(
    values: Mapping[str, Sequence[Any]],
    *,
    max_clauses: int = MAX_CLAUSES,
    fields: Mapping[str, FieldSpec] = SEARCHABLE_FIELDS,
) -> SearchStrategy[str]:
    """Valid query strings whose values come from ``values`` (field -> sample values), so they hit data.

    ``values["metadata"]`` holds ``(key, value)`` pairs (or a dict); None entries are skipped. Every field
    also gets null checks, so even empty ``values`` yields queries.
    """
    if not 1 <= max_clauses <= MAX_CLAUSES:
        raise ValueError(f"max_clauses must be between 1 and {MAX_CLAUSES}")
    return _joined(_clauses(values, fields), 1, max_clauses)


_IDENTIFIER_TEXT = st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True)
_SAFE_TEXT = st.text(alphabet=st.characters(blacklist_characters="\"'\\", blacklist_categories=("Cs",)),
                     max_size=10)


def _string_fields() -> list[str]:
    return sorted(name for name, spec in SEARCHABLE_FIELDS.items() if spec.kind == "string")


def _number_fields() -> list[str]:
    return sorted(name for name, spec in SEARCHABLE_FIELDS.items() if spec.kind == "number")


@st.composite
def _embedded(
    draw: st.DrawFn, bad: SearchStrategy[str], valid: SearchStrategy[str], last: bool = False
) -> str:
    """Surround one bad clause with valid ones, so rejection does not depend on it standing alone."""
    before = draw(st.lists(valid, max_size=2))
    after = [] if last else draw(st.lists(valid, max_size=2))
    return " AND ".join([*before, draw(bad), *after])


@st.composite
def _mixed_conjunctions(draw: st.DrawFn, valid: SearchStrategy[str]) -> str:
    clauses = draw(st.lists(valid, min_size=3, max_size=MAX_CLAUSES))
    separators = draw(st.lists(st.sampled_from(["AND", "OR", "and", "or", ""]),
                               min_size=len(clauses) - 1, max_size=len(clauses) - 1))
    if len({s.upper() or "AND" for s in separators}) < 2:
        index = draw(st.integers(0, len(separators) - 1))
        separators[index] = "OR" if (separators[index].upper() or "AND") == "AND" else "AND"
    out = clauses[0]
    for separator, clause in zip(separators, clauses[1:], strict=True):
        out += f" {separator} {clause}" if separator else f" {clause}"
    return out


def malformed_queries() -> SearchStrategy[str]:
    """Invoice search queries that ``parse`` must reject, one family per rejection rule."""
    valid = _clauses(_SAMPLE_VALUES, SEARCHABLE_FIELDS)
    string_field = st.sampled_from(_string_fields())
    number_field = st.sampled_from(_number_fields())
    any_value = st.sampled_from(['"x"', "5", "null", "'open'"])

    def concat(*parts: SearchStrategy[str]) -> SearchStrategy[str]:
        return st.tuples(*parts).map("".join)

    unknown_name = st.one_of(
        st.sampled_from(["amount", "amount_due", "email", "name", "paid", "id", "Status", "TOTAL",
                         "customer.email", "metadata.order_id", "AND", "OR"]),
        _IDENTIFIER_TEXT.filter(lambda n: n not in SEARCHABLE_FIELDS),
    )
    unknown_field = concat(unknown_name, st.sampled_from([":", ">"]), any_value)
    unbalanced = st.one_of(
        concat(string_field, st.sampled_from([":", "~"]), st.sampled_from(['"', "'"]), _SAFE_TEXT),
        _SAFE_TEXT.map(lambda s: f'metadata["{s}'),
        _SAFE_TEXT.map(lambda s: f'metadata["{s}]:"v"'),
    )
    missing_value = st.one_of(
        concat(string_field, st.sampled_from([":", "~"])),
        concat(number_field, st.sampled_from(_NUMERIC_OPS)),
        st.just('metadata["order_id"]:'),
    )
    misplaced_space = concat(string_field, st.sampled_from([': "open"', ' :"open"', ':\t"open"']))
    comparison_on_string = concat(string_field, st.sampled_from(_COMPARISONS), any_value)
    substring_misuse = st.one_of(
        concat(number_field, st.sampled_from(['~"123"', "~500"])),
        st.just('metadata["order_id"]~"673"'),
        concat(string_field, st.just("~"),
               st.text(alphabet="abc-_", max_size=MIN_SUBSTRING_LENGTH - 1).map(quote_string)),
    )
    bad_number = concat(number_field, st.sampled_from(_NUMERIC_OPS),
                        st.sampled_from(["5.5", "1e3", "abc", '"yesterday"', "0x10", "'12.0'", "5_000"]))
    bare_string = concat(string_field, st.just(":"), _IDENTIFIER_TEXT.filter(lambda w: w != "null"))
    bad_shape = st.sampled_from(['status["k"]:"open"', 'metadata:"x"', 'metadata[order_id]:"x"',
                                 'metadata[""]:"x"', "-", '- status:"open"', '--status:"open"',
                                 'status:"open"total>5', "total>null", 'status:""'])
    per_clause = st.one_of(unknown_field, missing_value, misplaced_space, comparison_on_string,
                           substring_misuse, bad_number, bare_string, bad_shape)

    trailing_keyword = st.tuples(_joined(valid, 1, 3), st.sampled_from(["AND", "OR", "and"]),
                                 st.sampled_from(["", " ", "  "]))
    leading_keyword = concat(st.sampled_from(["AND ", "OR "]), _joined(valid, 1, 3))
    return st.one_of(
        _embedded(per_clause, valid),
        _embedded(unbalanced, valid, last=True),
        _mixed_conjunctions(valid),
        _joined(valid, MAX_CLAUSES + 1, MAX_CLAUSES + 5),
        st.text(alphabet=" \t\n\r", max_size=4),
        trailing_keyword.map(lambda t: f"{t[0].rstrip()} {t[1]}{t[2]}"),
        leading_keyword,
    )
