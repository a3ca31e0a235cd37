"""Includable fields: Stripe leaves them out of an answer unless `expand[]` names them (invoice `payments` and
`confirmation_secret`, Identity `verified_outputs`, a search's `total_count`, ...).

The contract marks them (`x-stripe-includable: true`). Handlers keep them on the stored objects like any other
field; `hide` takes them out of each answer except where an expand path names them. It never changes what it is
given: it copies only the dicts on the way to a field it removes, and returns the rest shared.
"""

from __future__ import annotations

from typing import Any

from contracts.loader import Contract

INCLUDABLE = "x-stripe-includable"

Kept = dict[str, "Kept"]


def kept_paths(paths: list[str] | None) -> Kept:
    """Expand paths (`data.payments`, `verified_outputs.dob`) as a tree of field names."""
    tree: Kept = {}
    for path in paths or ():
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    return tree


class Hider:
    """Knows, per schema node of one contract, whether includable fields can occur below it."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self._below: dict[int, bool] = {}
        self._cache: dict[tuple[str, int], Any] = {}  # per schema node (the contract's dicts live as long as it)

    def hide(self, value: Any, schema: dict, kept: Kept | None = None) -> Any:
        """`value` without the includable fields that `kept` does not name (see the module docstring)."""
        if not isinstance(value, dict | list) or not self.has_includable(schema):
            return value
        return self._hide(value, schema, kept or {})

    def _hide(self, value: Any, schema: dict, kept: Kept) -> Any:
        node = self._branch(schema, "object" if isinstance(value, dict) else "array")
        if node is None:
            return value
        if isinstance(value, list):
            items = node.get("items", {})
            return [self._hide(v, items, kept) for v in value] if self.has_includable(items) else value
        out: dict | None = None
        for name, sub, includable in self._relevant(node):
            if name not in value:
                continue
            if includable and name not in kept:
                out = out if out is not None else dict(value)
                del out[name]
                continue
            inner = value[name]
            if isinstance(inner, dict | list):
                shown = self._hide(inner, sub, kept.get(name, {}))
                if shown is not inner:
                    out = out if out is not None else dict(value)
                    out[name] = shown
        return value if out is None else out

    def _relevant(self, node: dict) -> list[tuple[str, dict, bool]]:
        """The properties of an object schema that are includable or may hold includable fields."""
        key = ("props", id(node))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = [(name, sub, bool(sub.get(INCLUDABLE)))
                                        for name, sub in node.get("properties", {}).items()
                                        if sub.get(INCLUDABLE) or self.has_includable(sub)]
        return found

    def _branch(self, schema: dict, kind: str) -> dict | None:
        """The schema of JSON type `kind` ("object" or "array") that describes a value (through $ref and anyOf)."""
        key = (kind, id(schema))
        if key not in self._cache:
            self._cache[key] = self._find_branch(schema, kind)
        return self._cache[key]

    def _find_branch(self, schema: dict, kind: str) -> dict | None:
        schema = self.contract.resolve(schema)
        if schema.get("type") == kind:
            return schema
        for branch in schema.get("anyOf", []):
            found = self._find_branch(branch, kind)
            if found is not None:
                return found
        return None

    def has_includable(self, schema: dict) -> bool:
        """Whether an includable field can occur in a value of this schema, at any depth."""
        key = id(schema)
        known = self._below.get(key)
        if known is None:
            self._below[key] = False  # a cycle (invoice -> line item -> invoice) adds nothing new
            known = self._below[key] = self._search(schema)
        return known

    def _search(self, schema: dict) -> bool:
        if "$ref" in schema:
            return self.has_includable(self.contract.resolve(schema))
        if any(self.has_includable(b) for b in schema.get("anyOf", [])):
            return True
        if "items" in schema and self.has_includable(schema["items"]):
            return True
        return any(sub.get(INCLUDABLE) or self.has_includable(sub) for sub in schema.get("properties", {}).values())
