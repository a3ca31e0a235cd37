"""Stripe's Search Query Language, as used by ``GET /v1/invoices/search``.

One parser and one matcher serve both sides of the harness: the mock server answers search requests
with them and the test suites use them as the model predicting which objects a query returns, so the
two can never disagree about the grammar.

Grammar (canonical form is what ``str(Query)`` renders)::

    query       := ws* clause (ws+ [conjunction ws+] clause)* ws*     -- at most 10 clauses
    conjunction := "AND" | "OR"                                       -- case-insensitive, never mixed;
                                                                         plain whitespace means AND
    clause      := ["-"] field ["[" string "]"] op value              -- no whitespace inside a clause
    op          := ":" | "~" | ">" | "<" | ">=" | "<="
    value       := string | integer | "null"
    string      := '"' ... '"' | "'" ... "'"                          -- backslash escapes the next char
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

__all__ = [
    "MAX_CLAUSES",
    "MIN_SUBSTRING_LENGTH",
    "RESOURCE_SEARCH_FIELDS",
    "SEARCHABLE_FIELDS",
    "Clause",
    "FieldSpec",
    "Query",
    "QuerySyntaxError",
    "parse",
    "quote_string",
]

MAX_CLAUSES = 10
MIN_SUBSTRING_LENGTH = 3
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

Kind = Literal["string", "number", "metadata"]
Op = Literal[":", "~", ">", "<", ">=", "<="]
Conjunction = Literal["AND", "OR"]
Value = str | int | None

_COMPARISON_OPS: tuple[Op, ...] = (">=", "<=", ">", "<")  # two-char operators first for scanning
_ALL_OPS: tuple[Op, ...] = (*_COMPARISON_OPS, ":", "~")
_OPS_BY_KIND: dict[str, frozenset[str]] = {
    "string": frozenset({":", "~"}),
    "number": frozenset({":", *_COMPARISON_OPS}),
    "metadata": frozenset({":"}),
}
_NUMERIC_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ":": operator.eq, ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*", re.ASCII)
_INT_RE = re.compile(r"-?[0-9]+", re.ASCII)
_QUOTES = "\"'"


class QuerySyntaxError(ValueError):
    """A query Stripe would reject; carries the 0-based offending position so the mock can report it."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"Invalid query at position {position}: {reason}")
        self.position = position
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """How a searchable field is typed and where its value lives in an API object.

    ``paths`` are tried in order and the first non-null value wins, which lets one field follow an
    object whose shape moved between API versions (e.g. invoice ``subscription``).
    """

    kind: Kind
    paths: tuple[tuple[str, ...], ...]

    def read(self, obj: Mapping[str, Any], key: str | None = None) -> str | int | float | None:
        """Value of this field in ``obj`` (metadata: the value under ``key``), or None when null."""
        for path in self.paths:
            raw = _dig(obj, path)
            if self.kind == "metadata":
                raw = raw.get(key) if isinstance(raw, Mapping) and key is not None else None
            value = _normalise(raw, self.kind)
            if value is not None:
                return value
        return None


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _normalise(raw: Any, kind: str) -> str | int | float | None:
    if isinstance(raw, Mapping):  # an expanded reference such as customer=expand[] matches by id
        raw = raw.get("id")
    if kind == "number":
        return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    return raw if isinstance(raw, str) and raw != "" else None


# Stripe's "query fields for invoices"; add a table per resource to RESOURCE_SEARCH_FIELDS.
SEARCHABLE_FIELDS: dict[str, FieldSpec] = {
    "created": FieldSpec("number", (("created",),)),
    "currency": FieldSpec("string", (("currency",),)),
    "customer": FieldSpec("string", (("customer",),)),
    "last_finalization_error_code": FieldSpec("string", (("last_finalization_error", "code"),)),
    "last_finalization_error_type": FieldSpec("string", (("last_finalization_error", "type"),)),
    "metadata": FieldSpec("metadata", (("metadata",),)),
    "number": FieldSpec("string", (("number",),)),
    "receipt_number": FieldSpec("string", (("receipt_number",),)),
    "status": FieldSpec("string", (("status",),)),
    "subscription": FieldSpec(
        "string", (("subscription",), ("parent", "subscription_details", "subscription"))
    ),
    "total": FieldSpec("number", (("total",),)),
}

RESOURCE_SEARCH_FIELDS: dict[str, Mapping[str, FieldSpec]] = {"invoice": SEARCHABLE_FIELDS}


def quote_string(text: str) -> str:
    """Render ``text`` as a double-quoted query string that parses back to exactly ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclasses.dataclass(frozen=True)
class Clause:
    """One ``[-]field[key]op value`` clause; ``value`` None means a ``null`` check."""

    field: str
    key: str | None
    op: Op
    value: Value
    negated: bool = False

    def __str__(self) -> str:
        key = f"[{quote_string(self.key)}]" if self.key is not None else ""
        if self.value is None:
            value = "null"
        elif isinstance(self.value, int):
            value = str(self.value)
        else:
            value = quote_string(self.value)
        return f"{'-' if self.negated else ''}{self.field}{key}{self.op}{value}"

    def matches(self, obj: Mapping[str, Any], fields: Mapping[str, FieldSpec] = SEARCHABLE_FIELDS) -> bool:
        """Whether ``obj`` satisfies this clause; negation is plain logical NOT, so nulls match ``-x:v``."""
        actual = fields[self.field].read(obj, self.key)
        return _positive_match(self.op, self.value, actual) != self.negated


def _positive_match(op: str, expected: Value, actual: str | int | float | None) -> bool:
    if expected is None:
        return actual is None
    if actual is None:
        return False
    if isinstance(expected, int):
        return not isinstance(actual, str) and _NUMERIC_OPS[op](actual, expected)
    if not isinstance(actual, str):
        return False
    return expected in actual if op == "~" else actual == expected


@dataclasses.dataclass(frozen=True)
class Query:
    """A parsed query: clauses joined by a single conjunction, for one searchable resource."""

    clauses: tuple[Clause, ...]
    conjunction: Conjunction = "AND"
    resource: str = "invoice"

    def __post_init__(self) -> None:
        # With one clause AND and OR mean the same; normalise so str() round-trips to an equal Query.
        object.__setattr__(self, "clauses", tuple(self.clauses))
        if len(self.clauses) <= 1:
            object.__setattr__(self, "conjunction", "AND")

    def __str__(self) -> str:
        return f" {self.conjunction} ".join(str(clause) for clause in self.clauses)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether Stripe's search would return ``obj`` for this query."""
        fields = RESOURCE_SEARCH_FIELDS[self.resource]
        results = (clause.matches(obj, fields) for clause in self.clauses)
        return all(results) if self.conjunction == "AND" else any(results)

    def filter(self, objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The objects this query selects, in their input order."""
        return [obj for obj in objects if self.matches(obj)]


def parse(query: str, resource: str = "invoice") -> Query:
    """Parse ``query`` for ``resource``; raises QuerySyntaxError for anything Stripe would reject."""
    if resource not in RESOURCE_SEARCH_FIELDS:
        raise ValueError(f"no search fields registered for resource {resource!r}")
    return _Parser(query, RESOURCE_SEARCH_FIELDS[resource], resource).parse()


class _Parser:
    """Hand-written scanner: the grammar is tiny and exact error positions matter more than generality."""

    def __init__(self, text: str, fields: Mapping[str, FieldSpec], resource: str) -> None:
        self.text = text
        self.fields = fields
        self.resource = resource
        self.pos = 0

    # -- helpers ---------------------------------------------------------------------------------
    def error(self, reason: str, position: int | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(self.pos if position is None else position, reason)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def at_space(self) -> bool:
        return not self.at_end() and self.text[self.pos].isspace()

    def skip_spaces(self) -> bool:
        start = self.pos
        while self.at_space():
            self.pos += 1
        return self.pos > start

    # -- grammar ---------------------------------------------------------------------------------
    def parse(self) -> Query:
        self.skip_spaces()
        if self.at_end():
            raise self.error("the query is empty", 0)
        clauses: list[Clause] = []
        conjunction: str | None = None
        while True:
            if len(clauses) == MAX_CLAUSES:
                raise self.error(f"too many clauses: at most {MAX_CLAUSES} are allowed")
            clauses.append(self.parse_clause())
            if not self.skip_spaces():
                if self.at_end():
                    break
                raise self.error("expected whitespace, AND or OR after a clause")
            if self.at_end():
                break
            keyword_pos = self.pos
            joined_by = self.parse_conjunction()
            if conjunction is not None and joined_by != conjunction:
                raise self.error(f"cannot mix AND and OR in one query (found {joined_by} after "
                                 f"{conjunction})", keyword_pos)
            conjunction = joined_by
        return Query(tuple(clauses), conjunction or "AND", self.resource)  # type: ignore[arg-type]

    def parse_conjunction(self) -> str:
        """Consume ``AND``/``OR`` plus following whitespace, or nothing (implicit AND)."""
        match = re.match(r"(?i:and|or)(?![A-Za-z0-9_.\[:~<>])", self.text[self.pos:])
        if match is None:
            return "AND"
        keyword = match.group(0).upper()
        self.pos += match.end()
        had_space = self.skip_spaces()
        if self.at_end():
            raise self.error(f"expected a clause after {keyword}")
        if not had_space:
            raise self.error(f"expected whitespace after {keyword}")
        return keyword

    def parse_clause(self) -> Clause:
        negated = self.peek() == "-"
        if negated:
            self.pos += 1
        name, spec = self.parse_field()
        key = self.parse_key(name, spec)
        op_pos = self.pos
        op = self.parse_operator(name)
        if op not in _OPS_BY_KIND[spec.kind]:
            raise self.error(_operator_misuse(op, name, spec.kind), op_pos)
        value = self.parse_value(name, spec, op)
        return Clause(name, key, op, value, negated)

    def parse_field(self) -> tuple[str, FieldSpec]:
        start = self.pos
        match = _FIELD_RE.match(self.text, self.pos)
        if match is None:
            found = "end of query" if self.at_end() else repr(self.peek())
            raise self.error(f"expected a field name, found {found}")
        name = match.group(0)
        if name not in self.fields:
            supported = ", ".join(sorted(self.fields))
            raise self.error(f"unknown field {name!r} for {self.resource} search (supported: {supported})",
                             start)
        self.pos = match.end()
        return name, self.fields[name]

    def parse_key(self, name: str, spec: FieldSpec) -> str | None:
        if self.peek() != "[":
            if spec.kind == "metadata":
                raise self.error(f"expected [\"key\"] after field name {name!r}")
            return None
        if spec.kind != "metadata":
            raise self.error(f"field {name!r} does not take a [key]")
        self.pos += 1
        if self.peek() not in _QUOTES or self.at_end():
            raise self.error(f"expected a quoted key after '{name}['")
        key_pos = self.pos
        key = self.parse_quoted()
        if key == "":
            raise self.error("metadata key must not be empty", key_pos)
        if self.peek() != "]":
            raise self.error(f"expected ']' after metadata key {key!r}")
        self.pos += 1
        return key

    def parse_operator(self, name: str) -> Op:
        for op in _ALL_OPS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        if self.at_space():
            raise self.error(f"whitespace is not allowed between field name {name!r} and its operator")
        raise self.error(f"expected ':', '~', '>', '<', '>=' or '<=' after field name {name!r}")

    def parse_value(self, name: str, spec: FieldSpec, op: str) -> Value:
        start = self.pos
        if self.at_end():
            raise self.error(f"missing value after '{name}{op}'")
        if self.at_space():
            raise self.error(f"missing value after '{name}{op}' (no whitespace is allowed before a value)")
        quoted = self.peek() in _QUOTES
        if quoted:
            text = self.parse_quoted()
        else:
            while not self.at_end() and not self.at_space():
                self.pos += 1
            text = self.text[start:self.pos]
            if text == "null":
                if op != ":":
                    raise self.error(f"null can only be used with ':' (found '{op}')", start)
                return None
        if spec.kind == "number":
            return self.to_int(text, name, start)
        if not quoted and not _INT_RE.fullmatch(text):
            raise self.error(f"string values must be quoted, e.g. {name}:\"{text}\"", start)
        if text == "":
            raise self.error(f"empty value for {name!r}; use {name}:null to match a missing value", start)
        if op == "~" and len(text) < MIN_SUBSTRING_LENGTH:
            raise self.error(f"substring match '~' needs at least {MIN_SUBSTRING_LENGTH} characters, "
                             f"got {len(text)}", start)
        return text

    def to_int(self, text: str, name: str, start: int) -> int:
        # The length check comes before int() so huge digit strings cannot hit CPython's digit limit.
        if not _INT_RE.fullmatch(text) or len(text) > 20:
            raise self.error(f"expected an integer value for numeric field {name!r}, found {text!r}", start)
        value = int(text)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise self.error(f"integer value {text} for {name!r} is out of range", start)
        return value

    def parse_quoted(self) -> str:
        quote, start = self.peek(), self.pos
        self.pos += 1
        chars: list[str] = []
        while not self.at_end():
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == quote:
                return "".join(chars)
            chars.append(char)
        raise self.error(f"unbalanced quote: the string opened with {quote} here is never closed", start)


def _operator_misuse(op: str, name: str, kind: str) -> str:
    if kind == "metadata":
        return f"metadata fields only support exact match ':' (found '{op}')"
    if op == "~":
        return f"substring match '~' is only supported on string fields; {name!r} is numeric"
    return f"comparison '{op}' is only supported on numeric fields; {name!r} is a string field"
