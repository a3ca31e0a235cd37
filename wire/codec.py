"""Stripe's ``application/x-www-form-urlencoded`` dialect, in both directions.

The HTTP client and the mock server must agree byte-for-byte on how nested
parameters look on the wire, so both go through this one module:

* ``encode`` flattens nested mappings/lists into bracketed pairs
  (``lines[0][period][end]=1700000000``) the way Stripe's SDKs do.
* ``decode`` rebuilds the nested structure and is deliberately strict: any
  ambiguity (sparse indices, a key used both as a scalar and as a container,
  duplicate scalars, malformed brackets) raises ``FormError`` so the mock can
  answer 400 instead of guessing.

Values stay strings on the way in; coercing them to int/bool/... against the
contract is a separate step (``contracts.validation``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, quote_plus, unquote_to_bytes

__all__ = [
    "MAX_ARRAY_INDEX",
    "MAX_DEPTH",
    "MAX_PAIRS",
    "FormError",
    "decode",
    "decode_body",
    "decode_query",
    "encode",
    "encode_body",
    "encode_form",
    "encode_query",
    "format_scalar",
]

MAX_PAIRS = 2000
"""Most pairs one request may carry; bounds the work a hostile body can cause."""

MAX_DEPTH = 16
"""Most bracketed segments one key may have (``a[1][2]...[16]`` is the deepest allowed)."""

MAX_ARRAY_INDEX = 1000
"""Largest explicit array index accepted, so ``a[999999]`` cannot allocate a huge list."""

ScalarArrays = Literal["indexed", "brackets"]

_INDEX_RE = re.compile(r"-?[0-9]+", re.ASCII)
_CANONICAL_INDEX_RE = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_BAD_ESCAPE_RE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


class FormError(ValueError):
    """Malformed form input; the mock server maps it to a 400 ``invalid_request_error``."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def __repr__(self) -> str:
        return f"FormError({self.message!r}, param={self.param!r})"


# --------------------------------------------------------------------------- encoding


def format_scalar(value: Any) -> str:
    """Render one leaf value the way Stripe expects it on the wire.

    Public because validation uses it to treat already-typed Python values
    exactly like their wire form (so ``True`` is never mistaken for ``1``).
    """
    if isinstance(value, str):
        return str.__str__(value)  # plain text even for str-based enums
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FormError(f"Cannot encode non-finite number: {value!r}")
        return _plain_decimal(Decimal(repr(value)))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise FormError(f"Cannot encode non-finite number: {value!r}")
        return _plain_decimal(value)
    raise TypeError(f"Cannot form-encode value of type {type(value).__name__}")


def _plain_decimal(value: Decimal) -> str:
    # 'f' never uses an exponent: Decimal("1E+20") -> "100000000000000000000".
    return format(value, "f")


def _check_key(key: Any, prefix: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"Form keys must be str, got {type(key).__name__} under {prefix or '<root>'!r}")
    if not key or "[" in key or "]" in key:
        where = f"{prefix}[{key}]" if prefix else key
        raise FormError(f"Cannot encode key {key!r}: keys must be non-empty and free of brackets", where)
    return key


def _is_container(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def _walk(prefix: str, value: Any, scalar_arrays: ScalarArrays) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(value, Mapping):
        if not value:
            yield prefix, ""  # Stripe: "metadata=" clears the whole hash
            return
        for key, sub in value.items():
            yield from _walk(f"{prefix}[{_check_key(key, prefix)}]", sub, scalar_arrays)
        return
    if isinstance(value, (list, tuple)):
        items = [item for item in value if item is not None]  # compacted so indices stay dense
        if not items:
            yield prefix, ""
            return
        use_brackets = scalar_arrays == "brackets" and not any(_is_container(item) for item in items)
        for index, item in enumerate(items):
            yield from _walk(f"{prefix}[]" if use_brackets else f"{prefix}[{index}]", item, scalar_arrays)
        return
    yield prefix, format_scalar(value)


_ABSENT: Any = object()


def _wire(value: Any) -> Any:
    if value is None:
        return _ABSENT
    if isinstance(value, Mapping):
        if not value:
            return ""
        out = {}
        for key, sub in value.items():
            wired = _wire(sub)
            if wired is not _ABSENT:
                out[key] = wired
        return out or _ABSENT
    if isinstance(value, (list, tuple)):
        items = [item for item in value if item is not None]
        if not items:
            return ""
        wired_items = [_wire(item) for item in items]
        return [w for w in wired_items if w is not _ABSENT] or _ABSENT
    return format_scalar(value)


def wire_form(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` as the server decodes them: scalars as their wire strings, `None` dropped, empty hashes and lists
    as "" (unset). What `decode(encode(params))` gives, in one walk instead of a round trip."""
    wired = _wire(params)
    return wired if isinstance(wired, dict) else {}


def encode(params: Mapping[str, Any], *, scalar_arrays: ScalarArrays = "indexed") -> list[tuple[str, str]]:
    """Flatten nested params into ordered ``(bracketed_key, value)`` pairs.

    ``None`` values (and ``None`` list items) are skipped; empty dicts/lists
    become ``key=""`` because that is how Stripe spells "unset/clear".
    """
    if scalar_arrays not in ("indexed", "brackets"):
        raise ValueError(f"scalar_arrays must be 'indexed' or 'brackets', not {scalar_arrays!r}")
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        pairs.extend(_walk(_check_key(key, ""), value, scalar_arrays))
    return pairs


def encode_query(params: Mapping[str, Any], *, scalar_arrays: ScalarArrays = "indexed") -> str:
    """Encode params as a URL query string (brackets left readable, spaces as ``%20``)."""
    return "&".join(
        f"{quote(key, safe='[]')}={quote(value, safe='[]')}"
        for key, value in encode(params, scalar_arrays=scalar_arrays)
    )


def encode_form(params: Mapping[str, Any], *, scalar_arrays: ScalarArrays = "indexed") -> str:
    """Encode params as form body text (ASCII), escaped exactly like ``urllib.parse.urlencode`` (and Stripe's
    SDKs)."""
    return "&".join(
        f"{quote_plus(key)}={quote_plus(value)}" for key, value in encode(params, scalar_arrays=scalar_arrays)
    )


def encode_body(params: Mapping[str, Any], *, scalar_arrays: ScalarArrays = "indexed") -> bytes:
    """`encode_form` as the bytes sent."""
    return encode_form(params, scalar_arrays=scalar_arrays).encode("ascii")


# --------------------------------------------------------------------------- decoding

_KEY, _INDEX, _APPEND = "key", "index", "append"


def _show(raw: str) -> str:
    """Quote a key for a message without echoing megabytes of hostile input back."""
    return repr(raw) if len(raw) <= 100 else repr(raw[:100]) + "..."


def _parse_key(raw: str) -> tuple[str, list[tuple[str, str | int | None]]]:
    """Split ``a[b][0][]`` into ``("a", [(KEY,"b"), (INDEX,0), (APPEND,None)])`` or raise."""
    if not raw:
        raise FormError("Invalid parameter name: empty key", raw)
    open_at = raw.find("[")
    name = raw if open_at < 0 else raw[:open_at]
    if not name:
        raise FormError(f"Invalid parameter name: {_show(raw)} (must not start with '[')", raw)
    if "]" in name:
        raise FormError(f"Invalid parameter name: {_show(raw)} (unexpected ']')", raw)
    segments: list[tuple[str, str | int | None]] = []
    pos = len(name)
    while pos < len(raw):
        if raw[pos] != "[":
            raise FormError(
                f"Invalid parameter name: {_show(raw)} (text after ']' must start a new '[')", raw
            )
        close = raw.find("]", pos + 1)
        if close < 0:
            raise FormError(f"Invalid parameter name: {_show(raw)} (unclosed '[')", raw)
        seg = raw[pos + 1 : close]
        if "[" in seg:
            raise FormError(f"Invalid parameter name: {_show(raw)} (nested '[')", raw)
        segments.append(_classify(seg, raw))
        if len(segments) > MAX_DEPTH:
            raise FormError(
                f"Invalid parameter name: {_show(raw)} (nested deeper than {MAX_DEPTH} levels)", raw
            )
        pos = close + 1
    for kind, _ in segments[:-1]:
        if kind == _APPEND:
            raise FormError(f"Invalid parameter name: {_show(raw)} ('[]' is only allowed at the end)", raw)
    return name, segments


def _classify(seg: str, raw: str) -> tuple[str, str | int | None]:
    if seg == "":
        return _APPEND, None
    if _INDEX_RE.fullmatch(seg):
        if not _CANONICAL_INDEX_RE.fullmatch(seg):
            raise FormError(
                f"Invalid array index {_show(seg)} in {_show(raw)}: must be a non-negative decimal", raw
            )
        # Compare lengths first: int() of thousands of digits is slow, and past 4,300 raises ValueError.
        index = int(seg) if len(seg) <= len(str(MAX_ARRAY_INDEX)) else MAX_ARRAY_INDEX + 1
        if index > MAX_ARRAY_INDEX:
            raise FormError(
                f"Invalid array index {_show(seg)} in {_show(raw)}: must be at most {MAX_ARRAY_INDEX}", raw
            )
        return _INDEX, index
    return _KEY, seg


class _Obj:
    __slots__ = ("children", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.children: dict[str, _Node] = {}


class _Arr:
    __slots__ = ("children", "mode", "path")

    def __init__(self, path: str, mode: str) -> None:
        self.path = path
        self.mode = mode  # _INDEX or _APPEND, fixed by the first key that addresses it
        self.children: dict[int, _Node] = {}


_Node = _Obj | _Arr | str


def _new_container(kind: str, path: str) -> _Obj | _Arr:
    return _Obj(path) if kind == _KEY else _Arr(path, kind)


def _insert(root: _Obj, raw: str, value: str) -> None:
    name, segments = _parse_key(raw)
    # Each step: (container, how it is addressed, the address) -> child.
    steps: list[tuple[str, str | int | None]] = [(_KEY, name), *segments]
    node: _Obj | _Arr = root
    for depth, (kind, seg) in enumerate(steps):
        if isinstance(node, _Arr) and node.mode != kind:
            raise FormError(f"Cannot mix '[]' and '[<index>]' for array {node.path!r} (in {_show(raw)})", raw)
        children: dict[Any, _Node] = node.children
        if kind == _APPEND:
            slot: str | int = len(children)
        else:
            assert seg is not None
            slot = seg
        is_leaf = depth == len(steps) - 1
        existing = children.get(slot)
        if is_leaf:
            if existing is not None:
                what = "duplicate value" if isinstance(existing, str) else "value conflicts with nested keys"
                raise FormError(f"Conflicting parameter {_show(raw)}: {what}", raw)
            children[slot] = value
            return
        next_kind = steps[depth + 1][0]
        if existing is None:
            existing = _new_container(next_kind, name if node is root else f"{node.path}[{slot}]")
            children[slot] = existing
        elif isinstance(existing, str):
            raise FormError(f"Conflicting parameter {_show(raw)}: a scalar value was already given", raw)
        elif isinstance(existing, _Obj) and next_kind != _KEY:
            raise FormError(
                f"Conflicting parameter {_show(raw)}: {existing.path!r} is an object, not a list", raw
            )
        elif isinstance(existing, _Arr) and next_kind == _KEY:
            raise FormError(
                f"Conflicting parameter {_show(raw)}: {existing.path!r} is a list, not an object", raw
            )
        node = existing


def _finish(node: _Node) -> Any:
    if isinstance(node, str):
        return node
    if isinstance(node, _Obj):
        return {key: _finish(child) for key, child in node.children.items()}
    count = len(node.children)
    if node.mode == _INDEX and any(index >= count for index in node.children):
        indices = ", ".join(str(i) for i in sorted(node.children))
        raise FormError(
            f"Invalid array {node.path!r}: indices must be exactly 0..{count - 1}, got {indices}", node.path
        )
    return [_finish(node.children[index]) for index in range(count)]


def decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested params from bracketed pairs, rejecting anything ambiguous with ``FormError``.

    ``[<digits>]`` always denotes an array index and ``[]`` appends; leaves
    stay strings.
    """
    root = _Obj("")
    for count, (raw_key, value) in enumerate(pairs, start=1):
        if count > MAX_PAIRS:
            raise FormError(f"Too many parameters: at most {MAX_PAIRS} are allowed")
        _insert(root, raw_key, value)
    return _finish(root)


def _split_form(raw: bytes) -> Iterator[tuple[str, str]]:
    for count, chunk in enumerate((c for c in raw.split(b"&") if c), start=1):
        if count > MAX_PAIRS:
            raise FormError(f"Too many parameters: at most {MAX_PAIRS} are allowed")
        key, _, value = chunk.partition(b"=")
        yield _unescape(key), _unescape(value)


def _unescape(part: bytes) -> str:
    # Rack (Stripe's front end) rejects a stray '%' too; silently keeping it would hide client bugs.
    if _BAD_ESCAPE_RE.search(part):
        raise FormError(f"Invalid %-encoding in form data: {part[:60]!r}")
    try:
        return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError(f"Invalid UTF-8 in form data: {part[:60]!r}") from exc


def decode_body(raw: bytes) -> dict[str, Any]:
    """Parse an ``application/x-www-form-urlencoded`` body into nested params.

    ``+`` is a space and ``%XX`` a byte; a stray ``%``, invalid UTF-8 or a
    malformed structure raises ``FormError``. Empty ``&&`` segments are ignored
    and a pair without ``=`` has the value ``""``.
    """
    return decode(_split_form(bytes(raw)))


def decode_query(qs: str | bytes) -> dict[str, Any]:
    """Parse a URL query string (without the leading ``?``) into nested params."""
    if isinstance(qs, str):
        try:
            qs = qs.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise FormError("Invalid characters in query string") from exc
    return decode(_split_form(qs))
