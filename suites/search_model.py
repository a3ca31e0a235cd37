"""The suites' own model of invoice search: queries built as data, rendered to text, judged without parsing.

The mock answers searches with `wire.search_query` (a parser and a matcher). If the suites predicted results
with that same code, a matcher bug would be in both the server and the oracle, and the property could not catch
it. So this model never parses: a query is drawn as a list of `Clause` values, rendered to the text the server
receives, and each invoice is judged clause by clause straight from the JSON object.

The oracle is three-valued. It asserts only what Stripe documents (docs.stripe.com/search, "Search query
language" and "Query fields for invoices"):

- ``field:"v"`` is an exact match; ``field~"v"`` a substring match of at least 3 characters (string fields);
- ``total``/``created`` compare integers with ``:``, ``>``, ``<``, ``>=``, ``<=``;
- ``metadata["k"]:"v"`` matches when metadata has key ``k`` with value ``v``;
- ``field:null`` matches when the field is null (for metadata: when the key is absent);
- ``-clause`` returns the records that do not match the clause;
- clauses are joined by ``AND`` (or plain whitespace) or by ``OR``, never both; at most 10 clauses.

Where the documentation leaves the answer open (a negated clause on a field that is null on the object), the
verdict is ``None`` and that object is left out of the comparison, so the property holds on any server that
behaves like Stripe. Values are always copied from real objects, so case folding never matters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

MAX_CLAUSES = 10  # "you can combine up to 10 query clauses" (docs.stripe.com/search)
MIN_SUBSTRING = 3  # substring matching needs at least 3 characters (docs.stripe.com/search)

Kind = Literal["string", "number", "metadata"]

# Query fields for invoices (docs.stripe.com/search#query-fields-for-invoices) that a corpus can give values for,
# with where each one lives in the invoice object.
FIELDS: dict[str, tuple[Kind, tuple[str, ...]]] = {
    "created": ("number", ("created",)),
    "currency": ("string", ("currency",)),
    "customer": ("string", ("customer",)),
    "metadata": ("metadata", ("metadata",)),
    "number": ("string", ("number",)),
    "status": ("string", ("status",)),
    "total": ("number", ("total",)),
}
_COMPARE = {":": lambda a, b: a == b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
            ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


def _read(obj: Mapping[str, Any], field: str, key: str | None) -> Any:
    kind, path = FIELDS[field]
    value: Any = obj
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, Mapping) and kind != "metadata":
        value = value.get("id")  # an expanded reference reads as its ID
    if kind == "metadata":
        return value.get(key) if isinstance(value, Mapping) else None
    return None if value == "" else value


@dataclass(frozen=True)
class Clause:
    """``[-]field[key]op value``; ``value`` None is a ``null`` check."""

    field: str
    op: str
    value: str | int | None
    key: str | None = None
    negated: bool = False
    single_quotes: bool = False

    def _quote(self, text: str) -> str:
        mark = "'" if self.single_quotes else '"'
        return mark + text.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark

    def render(self) -> str:
        key = f"[{self._quote(self.key)}]" if self.key is not None else ""
        if self.value is None:
            value = "null"
        elif isinstance(self.value, int):
            value = str(self.value)
        else:
            value = self._quote(self.value)
        return f"{'-' if self.negated else ''}{self.field}{key}{self.op}{value}"

    def verdict(self, obj: Mapping[str, Any]) -> bool | None:
        """True/False where Stripe's documentation decides; None where it leaves the answer open."""
        actual = _read(obj, self.field, self.key)
        if self.value is None:
            positive = actual is None
        elif actual is None:
            if self.negated:
                return None  # is a null field "not equal" to a value? The docs do not say.
            return False
        elif self.op == "~":
            positive = isinstance(actual, str) and self.value in actual
        elif isinstance(self.value, int):
            positive = isinstance(actual, int) and not isinstance(actual, bool) and _COMPARE[self.op](actual,
                                                                                                    self.value)
        else:
            positive = actual == self.value
        return positive != self.negated


@dataclass(frozen=True)
class SearchQuery:
    """Clauses joined by one conjunction, with the spelling the server receives."""

    clauses: tuple[Clause, ...]
    conjunction: Literal["AND", "OR"] = "AND"
    separator: str = " AND "

    @property
    def text(self) -> str:
        return self.separator.join(clause.render() for clause in self.clauses)

    def verdict(self, obj: Mapping[str, Any]) -> bool | None:
        """Kleene logic over the clauses' verdicts: an open clause leaves the query open only if it could matter."""
        verdicts = [clause.verdict(obj) for clause in self.clauses]
        decisive = self.conjunction == "OR"  # AND: one False decides; OR: one True decides
        if decisive in verdicts:
            return decisive
        return None if None in verdicts else not decisive


def _clause_options(values: Mapping[str, Sequence[Any]]) -> list[SearchStrategy[Clause]]:
    quotes = st.booleans()
    options: list[SearchStrategy[Clause]] = []
    for field, (kind, _path) in FIELDS.items():
        raw = [v for v in values.get(field, ()) if v is not None and v != ""]
        if kind == "metadata":
            pairs = sorted({(k, v) for k, v in raw})
            if pairs:
                options.append(st.builds(lambda p, n, q: Clause("metadata", ":", p[1], key=p[0], negated=n,
                                                                single_quotes=q),
                                         st.sampled_from(pairs), st.booleans(), quotes))
                options.append(st.builds(lambda k, n: Clause("metadata", ":", None, key=k, negated=n),
                                         st.sampled_from(sorted({k for k, _ in pairs})), st.booleans()))
            continue
        options.append(st.builds(lambda n, f=field: Clause(f, ":", None, negated=n), st.booleans()))
        if not raw:
            continue
        if kind == "number":
            nudged = st.builds(lambda v, d: v + d, st.sampled_from(sorted(set(raw))), st.integers(-1, 1))
            options.append(st.builds(lambda op, v, n, f=field: Clause(f, op, v, negated=n),
                                     st.sampled_from(sorted(_COMPARE)), nudged, st.booleans()))
            continue
        strings = sorted(set(raw))
        options.append(st.builds(lambda v, n, q, f=field: Clause(f, ":", v, negated=n, single_quotes=q),
                                 st.sampled_from(strings), st.booleans(), quotes))
        long_enough = [s for s in strings if len(s) >= MIN_SUBSTRING]
        if long_enough:
            options.append(st.builds(lambda v, n, q, f=field: Clause(f, "~", v, negated=n, single_quotes=q),
                                     _substrings(long_enough), st.booleans(), quotes))
    return options


@st.composite
def _substrings(draw: st.DrawFn, strings: Sequence[str]) -> str:
    """A substring of one of `strings`, at least `MIN_SUBSTRING` characters long. One that does not start the
    string comes first (and is what shrinking keeps): only such a substring tells a substring match from a prefix
    match."""
    text = draw(st.sampled_from(strings))
    last = len(text) - MIN_SUBSTRING
    start = draw(st.integers(1, last) | st.integers(0, last) if last >= 1 else st.just(0))
    return text[start:draw(st.integers(start + MIN_SUBSTRING, len(text)))]


def search_queries(values: Mapping[str, Sequence[Any]]) -> SearchStrategy[SearchQuery]:
    """Queries over invoices whose values come from ``values``.

    :param values: field name -> sample values taken from real invoices; ``values["metadata"]`` holds
        ``(key, value)`` pairs. Fields outside `FIELDS` raise ``ValueError``.
    :returns: a strategy of `SearchQuery`, 1 to 10 clauses, AND (spelled ``AND``, ``and`` or a space) or OR.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValueError(f"not invoice query fields: {unknown}")
    clause = st.one_of(_clause_options(values))
    joiner = st.sampled_from([("AND", " AND "), ("AND", " and "), ("AND", " "), ("OR", " OR "), ("OR", " or ")])
    # Several clauses first (Hypothesis tries a strategy's simplest values early, and how clauses combine is most
    # of the grammar: a server that drops all but the first clause answers every one-clause query right).
    clauses = st.one_of(st.lists(clause, min_size=2, max_size=MAX_CLAUSES), st.lists(clause, min_size=1, max_size=1))
    return st.builds(lambda cs, j: SearchQuery(tuple(cs), j[0], j[1]), clauses, joiner)
