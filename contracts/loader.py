"""Read the contract once and expose it as typed operations, path lookup and compiled response validators.

The suites, the strategies and the mock all go through this module, so one file (openapi.yaml) drives them all.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from contracts.documents import read_yaml

HERE = Path(__file__).resolve().parent
CONTRACT_PATH = HERE / "openapi.yaml"
SUPPORT_PATH = HERE / "support.yaml"


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "path" | "query"
    required: bool
    schema: dict


@dataclass
class Operation:
    """One (method, path) of the contract with everything needed to call it and check its answers."""

    operation_id: str
    method: str  # upper case
    path: str  # template, e.g. /v1/invoices/{invoice}
    tag: str
    summary: str
    params: list[Param]
    body_schema: dict | None  # inlined object schema of the form body (POST)
    responses: dict[str, dict]  # status ("200", "400", "default"...) -> inlined-or-$ref JSON schema
    support: bool = False  # a supporting endpoint, not one of the 50
    _validators: dict[str, Any] = field(default_factory=dict, repr=False)
    _contract: Contract | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return [p.name for p in self.params if p.location == "path"]

    @property
    def query_params(self) -> list[Param]:
        return [p for p in self.params if p.location == "query"]

    @property
    def query_schema(self) -> dict:
        """The query parameters as one closed object schema (what the mock validates a GET against)."""
        props = {p.name: p.schema for p in self.query_params}
        required = sorted(p.name for p in self.query_params if p.required)
        schema: dict = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            schema["required"] = required
        return schema

    @property
    def request_schema(self) -> dict:
        """What the client sends: the body for POST, the query for GET and DELETE."""
        if self.method == "POST":
            return self.body_schema or {"type": "object", "properties": {}, "additionalProperties": False}
        return self.query_schema

    @property
    def is_list(self) -> bool:
        return self.response_kind in ("list", "search_result")

    @property
    def response_kind(self) -> str:
        """"list", "search_result", "deleted" or "object"."""
        schema = self.responses.get("200", {})
        if "$ref" in schema:
            return "deleted" if schema["$ref"].split("/")[-1].startswith("deleted_") else "object"
        kind = schema.get("properties", {}).get("object", {}).get("enum", [None])[0]
        return kind or "object"

    @property
    def resource(self) -> str | None:
        """The component schema name of the object(s) returned, e.g. "invoice"."""
        schema = self.responses.get("200", {})
        if self.is_list:
            schema = schema["properties"]["data"]["items"]
        ref = schema.get("$ref", "")
        return ref.split("/")[-1] or None

    def validator(self, status: int | str) -> Any:
        """A compiled JSON Schema validator for a response status (falls back to `default`)."""
        key = str(status) if str(status) in self.responses else "default"
        if key not in self._validators:
            assert self._contract is not None
            self._validators[key] = self._contract.compile(self.responses[key])
        return self._validators[key]

    def response_errors(self, status: int, body: Any, limit: int = 10) -> list[str]:
        """Contract violations of a response body, as readable `at <path>: <message>` lines."""
        errors = []
        for err in self.validator(status).iter_errors(body):
            where = "/".join(str(p) for p in err.instance_path) or "(root)"
            errors.append(f"at {where}: {err.message[:300]}")
            if len(errors) >= limit:
                break
        return errors


class Contract:
    """The loaded contract: operations by id, path matching, schema helpers."""

    def __init__(self, doc: dict, support_doc: dict | None = None):
        self.doc = doc
        self.components: dict[str, dict] = dict(doc.get("components", {}).get("schemas", {}))
        if support_doc:
            self.components.update(support_doc.get("components", {}).get("schemas", {}))
        self._json_components = {k: to_json_schema(v) for k, v in self.components.items()}
        self._compiled: dict[str, Any] = {}  # JSON of a schema -> its validator (`compile`)
        self.operations: dict[str, Operation] = {}
        self._routes: list[tuple[tuple[str, ...], Operation]] = []
        self._add_paths(doc, support=False)
        if support_doc:
            self._add_paths(support_doc, support=True)
        # Literal segments beat templates: sort routes so that, segment by segment, literals come first.
        self._routes.sort(key=lambda r: tuple((seg.startswith("{"), seg) for seg in r[0]))

    def _add_paths(self, doc: dict, support: bool) -> None:
        for path, item in doc.get("paths", {}).items():
            for method, raw in item.items():
                if method not in ("get", "post", "delete"):
                    continue
                op = self._operation(method, path, raw, support)
                self.operations[op.operation_id] = op
                self._routes.append((tuple(path.strip("/").split("/")), op))

    def _operation(self, method: str, path: str, raw: dict, support: bool) -> Operation:
        params = [Param(p["name"], p["in"], bool(p.get("required")), self.inline(p.get("schema", {})))
                  for p in raw.get("parameters", [])]
        body = None
        content = raw.get("requestBody", {}).get("content", {})
        if "application/x-www-form-urlencoded" in content:
            body = self.inline(content["application/x-www-form-urlencoded"]["schema"])
        responses = {str(status): resp.get("content", {}).get("application/json", {}).get("schema", {})
                     for status, resp in raw.get("responses", {}).items()}
        return Operation(
            operation_id=raw["operationId"], method=method.upper(), path=path,
            tag=(raw.get("tags") or ["Support"])[0], summary=raw.get("summary", ""), params=params,
            body_schema=body, responses=responses, support=support or bool(raw.get("x-harness-support")),
            _contract=self,
        )

    # -- lookup ---------------------------------------------------------------------------------------------

    def __getitem__(self, operation_id: str) -> Operation:
        try:
            return self.operations[operation_id]
        except KeyError:
            raise KeyError(f"no operation {operation_id!r} in the contract") from None

    @property
    def seed_operations(self) -> list[Operation]:
        """The 50 operations under test (supporting endpoints excluded)."""
        return [op for op in self.operations.values() if not op.support]

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving a concrete request path (`/v1/...`, segments already percent-decoded), and its
        path parameters. Nothing is normalised: an empty segment (`//`, a trailing `/`) matches no operation."""
        if not path.startswith("/"):
            return None
        return self.match_segments(method, path[1:].split("/"))

    def match_segments(self, method: str, segments: list[str] | tuple[str, ...]) -> \
            tuple[Operation, dict[str, str]] | None:
        """Like `match`, for a path already split into decoded segments: a segment may contain `/` (an encoded
        slash inside an ID), and is then one path parameter value, never two segments."""
        if "" in segments:
            return None
        method = method.upper()
        for template, op in self._routes:
            if op.method != method or len(template) != len(segments):
                continue
            values = {}
            for tseg, seg in zip(template, segments, strict=True):
                if tseg.startswith("{"):
                    if not seg:
                        break
                    values[tseg[1:-1]] = seg
                elif tseg != seg:
                    break
            else:
                return op, values
        return None

    # -- schemas --------------------------------------------------------------------------------------------

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = self.components[node["$ref"].split("/")[-1]]
        return node

    def inline(self, node: Any, _stack: tuple[str, ...] = ()) -> Any:
        """A copy with every $ref inlined (request schemas are trees; a cycle is cut to {"type": "object"})."""
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].split("/")[-1]
                if name in _stack:
                    return {"type": "object"}
                return self.inline(self.components[name], (*_stack, name))
            return {k: self.inline(v, _stack) for k, v in node.items()}
        if isinstance(node, list):
            return [self.inline(v, _stack) for v in node]
        return node

    def compile(self, schema: dict) -> Any:
        """A JSON Schema validator for an OpenAPI `schema` (its $refs resolved against this contract's components).

        One per distinct schema: the 273 response schemas of the 50 operations are 35 distinct ones (every error
        answer is ``#/components/schemas/error``), and each compile embeds every component (~1.3 ms). Validators
        hold no state between calls, so operations share them."""
        key = json.dumps(schema, sort_keys=True, default=str)
        if key not in self._compiled:
            root = {**to_json_schema(schema), "components": {"schemas": self._json_components}}
            self._compiled[key] = jsonschema_rs.Draft7Validator(root)
        return self._compiled[key]

    def expandable_fields(self, schema_name: str) -> dict[str, str | None]:
        """Top-level fields of an object that hold an ID or, when expanded, the object.

        Maps field -> component schema name of the expanded object (None for objects outside this API slice).
        """
        out: dict[str, str | None] = {}
        props = self.components[schema_name].get("properties", {})
        for name, schema in props.items():
            target = expandable_target(schema)
            if target is not False:
                out[name] = target
        return out

    def includable_fields(self, schema_name: str) -> list[str]:
        """Dotted paths of the fields of an object that Stripe sends only when expanded (`x-stripe-includable`),
        at any depth inside the object itself (not inside other objects it refers to)."""
        found: list[str] = []

        def walk(node: dict, prefix: str) -> None:
            for branch in [node, *node.get("anyOf", [])]:
                for name, sub in branch.get("properties", {}).items():
                    if sub.get("x-stripe-includable"):
                        found.append(prefix + name)
                    walk(sub, f"{prefix}{name}.")

        walk(self.components[schema_name], "")
        return found

    @property
    def stripe_version(self) -> str:
        """The Stripe API version the contract was generated from (`info.x-stripe-api-version`), e.g.
        ``2026-10-28.endive``: the harness sends it as the ``Stripe-Version`` header."""
        return str(self.doc.get("info", {}).get("x-stripe-api-version") or "")

    @functools.cached_property
    def version(self) -> str:
        """A short hash of the contract text, shown in reports."""
        return hashlib.sha256(CONTRACT_PATH.read_bytes()).hexdigest()[:12]


def expandable_target(schema: dict) -> str | bool | None:
    """For an `anyOf [id string, object]` field: the object's schema name (None if foreign); False otherwise."""
    branches = [b for b in schema.get("anyOf", []) if b.get("enum") != [None]]
    if len(branches) != 2 or branches[0].get("type") != "string":
        return False
    other = branches[1]
    if "$ref" in other:
        return other["$ref"].split("/")[-1]
    if other.get("type") == "object":
        return None
    return False


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes a null type; `x-` keys are dropped."""
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items()
           if not k.startswith("x-") and k not in ("nullable", "example", "format", "description")}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def load_contract() -> Contract:
    """The contract of the 50 operations plus the supporting endpoints (cached per process)."""
    support = read_yaml(SUPPORT_PATH) if SUPPORT_PATH.exists() else None
    return Contract(read_yaml(CONTRACT_PATH), support)


PATH_PARAM = re.compile(r"{(\w+)}")


def fill_path(template: str, values: dict[str, str]) -> str:
    """Substitute path parameters (values are used as given; callers pass IDs)."""
    return PATH_PARAM.sub(lambda m: values[m.group(1)], template)
