"""Build `contracts/openapi.yaml` from the operation table and the `stripe` package's typed classes.

Why generated: the text of Stripe's API reference (https://docs.stripe.com/api) flattens nesting and hides fields
behind "…N more"; the `stripe` package's `stripe/params/*` TypedDicts carry the exact nesting, required keys and
enums, and its object classes carry the response fields and their nullability. We read those types (facts), and
write every schema ourselves. Where the API reference differs from the package (the reference is the
specification), `REFERENCE_OVERRIDES` and `REFERENCE_EXTRA_FIELDS` say so.

Run: `python -m contracts.generate` (needs the `dev` extra: `stripe`). Re-running is deterministic.
"""

from __future__ import annotations

import collections.abc
import decimal
import importlib
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from contracts.bounds import apply_bounds, field_docs
from contracts.operations import OBJECT_CLASSES, OPERATIONS, OperationRow

HERE = Path(__file__).resolve().parent

# Request strings without a known limit get Stripe's usual one.
DEFAULT_MAX_LENGTH = 5000
UNLIMITED_STRINGS = {"body", "url", "value", "query", "return_url", "images"}
METADATA_PARAM = {"$ref": "#/components/schemas/metadata_param"}
EMPTY_STRING = {"type": "string", "enum": [""]}

# Where Stripe's API reference (the specification) disagrees with the stripe package:
# (operationId, dotted field) -> required.
REFERENCE_OVERRIDES: dict[tuple[str, str], bool] = {
    ("CreateForwardingRequest", "request"): False,
    ("AddInvoiceLines", "lines.price_data.product"): False,
    ("UpdateInvoiceLines", "lines.price_data.product"): False,
    ("UpdateInvoiceLine", "price_data.product"): False,
}

# Fields the API reference lists that the stripe package no longer has: (operationId, dotted parent) -> {name: schema}.
REFERENCE_EXTRA_FIELDS: dict[tuple[str, str], dict[str, dict]] = {
    ("CreateFinancialConnectionsSession", "filters"): {
        "countries": {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 2}, "maxItems": 50},
    },
}

# Fields whose value the mock and the suites need bounded (array sizes of the API).
MAX_ITEMS = {"lines": 250, "expand": 20, "invoice_items": 250, "tax_rates": 10, "headers": 50,
             "replacements": 10, "features": 3, "permissions": 4, "prefetch": 3}

LIST_PARAM_DOCS = {
    "limit": "A limit on the number of objects to be returned, between 1 and 100 (default 10).",
    "starting_after": "A cursor: the ID of the object after which the page starts.",
    "ending_before": "A cursor: the ID of the object before which the page ends.",
    "expand": "Fields of the response to expand (dotted paths for nested fields).",
}

SCALAR_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number"}

REQUEST_OPTION_KEYS = {"api_key", "stripe_version", "stripe_account", "stripe_context", "max_network_retries",
                       "idempotency_key", "content_type", "headers"}


# ---------------------------------------------------------------------------------------------------------------
# which response fields Stripe always sends

# Includable fields: Stripe leaves them out of a response unless `expand[]` names them (the API reference marks
# them "Expandable" although they hold no ID; Stripe's published fixtures leave them out). Nested ones are expanded
# by their dotted path (`expand[]=verified_outputs.dob`). component -> dotted path -> source.
IDENTITY_RESULTS = "https://docs.stripe.com/identity/access-verification-results"
INCLUDABLE: dict[str, dict[str, str]] = {
    "invoice": {
        "payments": "API reference, invoice object: \"there is an includable payments property\" "
                    "(https://docs.stripe.com/api/invoices/object#invoice_object-payments)",
        "confirmation_secret": "Invoicing integration guide: finalize with expand[]=confirmation_secret to get "
                               "the client secret (https://docs.stripe.com/invoicing/integration/quickstart)",
        "shipping_cost.taxes": "API reference, invoice object: shipping_cost.taxes is expandable "
                               "(https://docs.stripe.com/api/invoices/object#invoice_object-shipping_cost-taxes)",
    },
    "identity.verification_session": {
        "verified_outputs": IDENTITY_RESULTS,
        "verified_outputs.dob": IDENTITY_RESULTS,
        "verified_outputs.id_number": IDENTITY_RESULTS,
        "verified_outputs.sex": IDENTITY_RESULTS,
        "verified_outputs.unparsed_place_of_birth": IDENTITY_RESULTS,
        "verified_outputs.unparsed_sex": IDENTITY_RESULTS,
        "provided_details": "API reference, VerificationSession object: provided_details is expandable "
                            "(https://docs.stripe.com/api/identity/verification_sessions/object)",
    },
    "identity.verification_report": {
        "document.dob": IDENTITY_RESULTS,
        "document.number": IDENTITY_RESULTS,
        "document.sex": IDENTITY_RESULTS,
        "document.unparsed_place_of_birth": IDENTITY_RESULTS,
        "document.unparsed_sex": IDENTITY_RESULTS,
        "id_number.dob": IDENTITY_RESULTS,
        "id_number.id_number": IDENTITY_RESULTS,
    },
    "issuing.card": {
        "number": "API reference, Issuing card object: number is omitted unless expanded "
                  "(https://docs.stripe.com/api/issuing/cards/object#issuing_card_object-number)",
        "cvc": "API reference, Issuing card object: cvc is omitted unless expanded "
               "(https://docs.stripe.com/api/issuing/cards/object#issuing_card_object-cvc)",
    },
    "issuing.transaction": {
        "purchase_details": "API reference, Issuing transaction object: purchase_details is expandable "
                            "(https://docs.stripe.com/api/issuing/transactions/object)",
    },
    "search_result": {
        "total_count": "API reference, search: total_count is included only when expanded "
                       "(https://docs.stripe.com/api/pagination/search)",
    },
}

# Fields Stripe sends only when they apply (to the object's type, its options or its state): Stripe's own published
# fixtures (beside its OpenAPI specification) leave them out, so requiring them would be a false alarm against
# Stripe. component -> dotted paths. Every other field is always sent, `null` when unset, at every depth.
SENT_WHEN_APPLICABLE: dict[str, frozenset[str]] = {
    "invoice": frozenset({
        "amount_paid_off_stripe", "status_details", "threshold_reason", "automatic_tax.liability.account",
        "issuer.account", "parent.subscription_details.subscription_proration_date",
        *(f"{parent}.{name}" for parent in ("customer_shipping", "shipping_details")
          for name in ("address", "carrier", "name", "phone", "tracking_number")),
        *(f"last_finalization_error.{name}" for name in (
            "advice_code", "charge", "code", "decline_code", "doc_url", "message", "network_advice_code",
            "network_decline_code", "param", "payment_intent", "payment_method", "payment_method_type",
            "request_log_url", "setup_intent", "source")),
        *(f"payment_settings.payment_method_options.{name}" for name in (
            "acss_debit.mandate_options", "acss_debit.verification_method", "billie", "blik", "card.installments",
            "customer_balance.bank_transfer", "payto.mandate_options", "pix.expires_after_seconds",
            "upi.mandate_options", "us_bank_account.financial_connections", "us_bank_account.verification_method")),
    }),
    "invoiceitem": frozenset({"frozen_fields", "invoicing_rules", "proration_details",
                              "parent.subscription_details.subscription_item", "pricing.price_details"}),
    "line_item": frozenset({"pricing.price_details"}),
    "invoice_payment": frozenset({"payment.charge", "payment.payment_intent", "payment.payment_record"}),
    "financial_connections.account": frozenset({
        "status_details", "balance.cash", "balance.credit", "account_holder.account",
        "account_holder.customer_account"}),
    "financial_connections.session": frozenset({
        "bank_account_token", "filters", "limits", "manual_entry", "return_url", "account_holder.account",
        "account_holder.customer_account"}),
    "forwarding.request": frozenset({"metadata"}),
    "identity.verification_report": frozenset({
        "email", "id_number", "phone", "selfie", "verification_flow", "options.document", "options.id_number",
        *(f"options.document.{name}" for name in (
            "allowed_types", "require_id_number", "require_live_capture", "require_matching_selfie"))}),
    "identity.verification_session": frozenset({
        "related_person", "verification_flow",
        *(f"options.{name}" for name in ("email", "id_number", "matching", "phone", "document",
                                         "document.allowed_types",
                                         "document.require_id_number", "document.require_live_capture"))}),
    "issuing.authorization": frozenset({"fraud_challenges", "treasury"}),
    "issuing.card": frozenset({"financial_account", "shipping.delivered_at", "shipping.shipped_at"}),
    "issuing.cardholder": frozenset({"individual.card_issuing"}),
    "issuing.transaction": frozenset({"treasury"}),
}


# Outside objects that a server of this slice holds itself (their IDs come from the 50 operations' objects), so an
# expanded one is checked whole, not only its identity. (Customers, payment methods and payment intents come from
# the supporting endpoints, whose own contract, contracts/support.yaml, describes them.)
WHOLE_WHEN_EXPANDED = frozenset({"stripe.financial_connections._account_ownership.AccountOwnership"})


def response_required(component: str, dotted: str, name: str) -> bool:
    """Whether a response always carries this field (`null` when unset): all do but includable fields, fields
    sent only when they apply, and `deleted` (only on deleted objects)."""
    if name == "deleted":
        return False
    return dotted not in INCLUDABLE.get(component, {}) and dotted not in SENT_WHEN_APPLICABLE.get(component, ())


# ---------------------------------------------------------------------------------------------------------------
# type helpers


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp)


def _args(tp: Any) -> tuple:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return _origin(tp) in (typing.Union, types.UnionType)


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "__required_keys__") and hasattr(tp, "__annotations__")


def _literal_values(tp: Any) -> list | None:
    if _origin(tp) is typing.Literal:
        return list(_args(tp))
    return None


# ---------------------------------------------------------------------------------------------------------------
# request schemas from params TypedDicts


def _load(dotted: str, package: str) -> Any:
    module_path, _, name = dotted.rpartition(".")
    module = importlib.import_module(f"{package}.{module_path}" if module_path else package)
    return getattr(module, name)


def param_schema(tp: Any, name: str) -> dict:
    """Schema of one request field from its annotation."""
    if _is_union(tp):
        members = [a for a in _args(tp) if a is not type(None)]
        literal_empty = [m for m in members if _literal_values(m) == [""]]
        rest = [m for m in members if m not in literal_empty]
        literals = [v for m in rest for v in (_literal_values(m) or [])]
        if literals and all(m is str or _literal_values(m) for m in rest):
            # Literal[...] | str: an enum that the client leaves open for new values.
            base: dict = {"type": "string", "enum": [v for v in literals if v != ""]}
        else:
            schemas = []
            for member in rest:  # Dict[str, str] | UntypedStripeObject[str] give the same schema
                schema = param_schema(member, name)
                if schema not in schemas:
                    schemas.append(schema)
            base = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        if literal_empty:
            if base == METADATA_PARAM:
                return base
            return {"anyOf": [base, dict(EMPTY_STRING)]}
        return base
    literals = _literal_values(tp)
    if literals is not None:
        if literals == [""]:
            return dict(EMPTY_STRING)
        kinds = {type(v) for v in literals}
        if kinds == {bool}:
            return {"type": "boolean", "enum": literals}
        return {"type": "string", "enum": literals}
    if tp is str:
        schema: dict = {"type": "string"}
        if name not in UNLIMITED_STRINGS:
            schema["maxLength"] = DEFAULT_MAX_LENGTH
        return schema
    if tp in SCALAR_TYPES:
        return {"type": SCALAR_TYPES[tp]}
    if tp is decimal.Decimal:
        return {"type": "string", "format": "decimal", "maxLength": 40}
    if _origin(tp) in (list, collections.abc.Sequence, typing.List):  # noqa: UP006
        schema = {"type": "array", "items": param_schema(_args(tp)[0], name)}
        if name in MAX_ITEMS:
            schema["maxItems"] = MAX_ITEMS[name]
        return schema
    if _origin(tp) in (dict, collections.abc.Mapping) or getattr(tp, "__name__", "") == "UntypedStripeObject" \
            or getattr(_origin(tp), "__name__", "") == "UntypedStripeObject":
        if name in ("metadata", "invoice_metadata"):
            return METADATA_PARAM
        return {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}}
    if _is_typeddict(tp):
        return typeddict_schema(tp)
    if tp is typing.Any:
        return {}
    raise TypeError(f"unsupported request annotation {tp!r} for {name}")


def typeddict_schema(cls: type) -> dict:
    module_globals = vars(sys.modules[cls.__module__])
    props = {}
    required = []
    for key, annotation in cls.__annotations__.items():
        if key in REQUEST_OPTION_KEYS and cls.__name__.endswith("Params"):
            continue
        tp = _evaluate(annotation, module_globals, {})
        if _origin(tp) in (typing.NotRequired, typing.Required):
            tp = _args(tp)[0]
        props[key] = apply_bounds(param_schema(tp, key), key, field_docs(cls).get(key, ""))
        if key in cls.__required_keys__:
            required.append(key)
    schema: dict = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = sorted(required)
    return schema


def _apply_override(schema: dict, dotted: str, required: bool) -> None:
    head, _, rest = dotted.partition(".")
    node = schema
    while True:
        node = _object_node(node)
        if not rest:
            req = set(node.get("required", []))
            req.add(head) if required else req.discard(head)
            if req:
                node["required"] = sorted(req)
            else:
                node.pop("required", None)
            return
        node = node["properties"][head]
        head, _, rest = rest.partition(".")


def _object_node(node: dict) -> dict:
    """The object schema inside an array / emptyable wrapper."""
    while True:
        if node.get("type") == "object":
            return node
        if node.get("type") == "array":
            node = node["items"]
        elif "anyOf" in node:
            node = next(b for b in node["anyOf"] if b.get("type") in ("object", "array"))
        else:
            raise KeyError(node)


# ---------------------------------------------------------------------------------------------------------------
# response schemas from object classes


class _Names(collections.abc.Mapping):
    """Name lookup for evaluating a stripe object's annotations: nested classes, then module, then imports."""

    def __init__(self, owner_chain: list[type], module: types.ModuleType):
        self.scopes = [vars(c) for c in reversed(owner_chain)] + [vars(module)]
        self.imports = _type_checking_imports(module)

    def __getitem__(self, key: str) -> Any:
        for scope in self.scopes:
            if key in scope:
                return scope[key]
        if key in self.imports:
            return _foreign(self.imports[key])
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


_FOREIGN: dict[str, type] = {}


def _foreign(qualified: str) -> type:
    if qualified not in _FOREIGN:
        _FOREIGN[qualified] = type(qualified.rsplit(".", 1)[-1], (), {"__qualified__": qualified})
    return _FOREIGN[qualified]


def _type_checking_imports(module: types.ModuleType) -> dict[str, str]:
    source = inspect.getsource(module)
    found = {}
    for mod, names in re.findall(r"from\s+(stripe[\w.]*)\s+import\s+(\([^)]*\)|[^\n]+)", source):
        for part in names.strip("()").split(","):
            part = part.strip()
            if not part:
                continue
            original, _, alias = part.partition(" as ")
            found[(alias or original).strip()] = f"{mod}.{original.strip()}"
    return found


class ResponseSchemas:
    """Turn stripe object classes into component schemas (nested objects inline, whole objects by $ref).

    Objects outside this API slice get a component of their own when a response embeds them whole (an Issuing
    authorization's `card`, an invoice's `default_tax_rates`); an expandable field whose object has such a
    component refers to it too. Other expandable fields to outside objects check only the object's identity.
    Every field is required except the includable ones and those Stripe leaves out when they do not apply
    (`response_required`).
    """

    def __init__(self, embedded: set[str] | None = None) -> None:
        import stripe

        self.stripe = stripe
        self.by_qualified: dict[str, str] = {}
        for schema_name, dotted in OBJECT_CLASSES.items():
            cls = _load(dotted, "stripe")
            self.by_qualified[_qualified(cls)] = schema_name
        self.components: dict[str, dict] = {}
        # Outside objects embedded whole somewhere (known after a first pass; see build_response_components).
        self.embedded: set[str] = set(embedded or ()) | WHOLE_WHEN_EXPANDED
        self.found_embedded: set[str] = set()
        self.conditional = False  # building a field that Stripe sends only when it applies

    def object_schema(self, cls: type, chain: list[type], object_name: str | None = None,
                      where: tuple[str, str] = ("", "")) -> dict:
        """`where` is (component, dotted path of this object inside it): it names the fields in the tables."""
        module = sys.modules[cls.__module__]
        own = inspect.get_annotations(cls)
        names = _Names(chain, module)
        hints = {key: _evaluate(value, vars(module), names) for key, value in own.items()}
        props, required = {}, []
        component, base = where
        for key in own:
            if key.isupper() or key.startswith("_"):
                continue
            tp = hints[key]
            nullable = _is_union(tp) and type(None) in _args(tp)
            dotted = f"{base}.{key}" if base else key
            outer = self.conditional
            self.conditional = outer or dotted in SENT_WHEN_APPLICABLE.get(component, ())
            schema = self.field_schema(tp, chain, (component, dotted))
            self.conditional = outer
            if key == "object" and object_name:
                schema = {"type": "string", "enum": [object_name]}
            props[key] = _nullable(schema) if nullable else schema
            if dotted in INCLUDABLE.get(component, {}):
                props[key] = {**props[key], "x-stripe-includable": True}
            if response_required(component, dotted, key):
                required.append(key)
        schema = {"type": "object", "properties": props}
        if required:
            schema["required"] = sorted(required)
        return schema

    def field_schema(self, tp: Any, chain: list[type], where: tuple[str, str] = ("", ""),
                     expandable: bool = False) -> dict:
        if _is_union(tp):
            members = [a for a in _args(tp) if a is not type(None)]
            if len(members) == 1:
                return self.field_schema(members[0], chain, where, expandable)
            literals = [v for m in members for v in (_literal_values(m) or [])]
            if literals and all(m is str or _literal_values(m) for m in members):
                # Literal[...] | str: the client stays open to new values; the API documents an enum.
                return {"type": "string", "enum": literals}
            if str in members and len(members) == 2:  # ExpandableField[T]
                other = next(m for m in members if m is not str)
                return {"anyOf": [{"type": "string", "maxLength": 5000},
                                  self.field_schema(other, chain, where, expandable=True)]}
            return {"anyOf": [self.field_schema(m, chain, where, expandable=expandable or str in members)
                              for m in members]}
        literals = _literal_values(tp)
        if literals is not None:
            if all(isinstance(v, bool) for v in literals):
                return {"type": "boolean", "enum": literals}
            return {"type": "string", "enum": literals}
        if tp is str:
            return {"type": "string"}
        if tp in SCALAR_TYPES:
            return {"type": SCALAR_TYPES[tp]}
        if tp is decimal.Decimal:  # Stripe serialises decimals as strings
            return {"type": "string", "format": "decimal"}
        if tp is typing.Any:
            return {}
        origin = _origin(tp)
        if origin in (list, typing.List):  # noqa: UP006
            return {"type": "array", "items": self.field_schema(_args(tp)[0], chain, where, expandable)}
        if origin in (dict, typing.Dict):  # noqa: UP006
            return {"type": "object", "additionalProperties": self.field_schema(_args(tp)[1], chain)}
        name = getattr(origin or tp, "__name__", "")
        if name == "UntypedStripeObject":
            value = self.field_schema(_args(tp)[0], chain) if _args(tp) else {}
            return {"type": "object", "additionalProperties": value}
        if name in ("ListObject", "SearchResultObject"):
            return list_envelope(self.field_schema(_args(tp)[0], chain),
                                 "list" if name == "ListObject" else "search_result")
        qualified = getattr(tp, "__qualified__", None) or (_qualified(tp) if isinstance(tp, type) else None)
        if qualified in self.by_qualified:
            return {"$ref": f"#/components/schemas/{self.by_qualified[qualified]}"}
        if getattr(tp, "__qualified__", None):
            return self.outside_object(qualified, expandable)
        if isinstance(tp, type) and issubclass(tp, self.stripe.StripeObject):
            if tp in chain:
                return {"type": "object"}
            if hasattr(tp, "OBJECT_NAME") and tp not in (chain[-1:] if chain else []) and not _is_nested(tp):
                return self.outside_object(qualified, expandable)
            return self.object_schema(tp, [*chain, tp], where=where)
        raise TypeError(f"unsupported response annotation {tp!r}")

    def outside_object(self, qualified: str, expandable: bool) -> dict:
        """An object outside this API slice: its whole schema where it is embedded (or has a schema because it
        is embedded elsewhere); only its identity where it is merely expandable."""
        if self.conditional:  # inside a field sent only when it applies (an error's payment intent): kept light
            return foreign_object()
        if not expandable:
            self.found_embedded.add(qualified)
        if not expandable or qualified in self.embedded:
            return {"$ref": f"#/components/schemas/{self.outside_component(qualified)}"}
        return foreign_object()

    def outside_component(self, qualified: str) -> str:
        module_name, _, class_name = qualified.rpartition(".")
        cls = getattr(importlib.import_module(module_name), class_name)
        schema_name = cls.OBJECT_NAME
        if qualified not in self.by_qualified:
            self.by_qualified[qualified] = schema_name
            self.components[schema_name] = self.object_schema(cls, [cls], schema_name, (schema_name, ""))
        return schema_name

    def build(self) -> dict[str, dict]:
        for schema_name, dotted in OBJECT_CLASSES.items():
            cls = _load(dotted, "stripe")
            self.components[schema_name] = self.object_schema(cls, [cls], cls.OBJECT_NAME, (schema_name, ""))
        ours = {name: self.components[name] for name in OBJECT_CLASSES}
        return {**ours, **{name: self.components[name] for name in sorted(self.components) if name not in ours}}


def build_response_components() -> dict[str, dict]:
    """Two passes: the first finds which outside objects some response embeds whole, so that the second can
    give an expandable field to such an object the same whole schema wherever it appears (order-independent)."""
    first = ResponseSchemas()
    first.build()
    return ResponseSchemas(embedded=first.found_embedded).build()


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def _evaluate(annotation: Any, globalns: dict, localns: collections.abc.Mapping) -> Any:
    if isinstance(annotation, str):
        annotation = typing.ForwardRef(annotation)
    return typing._eval_type(annotation, globalns, localns)  # type: ignore[attr-defined]


def _is_nested(cls: type) -> bool:
    return "." in cls.__qualname__


def _nullable(schema: dict) -> dict:
    """OpenAPI 3.0 nullability: `nullable` widens only a `type` in the same object, so enums list null and
    $ref/anyOf get a null branch."""
    if "type" in schema and "$ref" not in schema and "anyOf" not in schema:
        out = {**schema, "nullable": True}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    if "anyOf" in schema:
        return {"anyOf": [*schema["anyOf"], NULL_ONLY]}
    return {"anyOf": [schema, NULL_ONLY]}


NULL_ONLY = {"type": "string", "nullable": True, "enum": [None]}


def foreign_object() -> dict:
    """An object outside this API slice, returned when expanded: only its identity is checked."""
    return {"type": "object", "properties": {"id": {"type": "string"}, "object": {"type": "string"}},
            "required": ["id", "object"]}


def list_envelope(items: dict, kind: str = "list") -> dict:
    props: dict = {
        "object": {"type": "string", "enum": [kind]},
        "data": {"type": "array", "items": items},
        "has_more": {"type": "boolean"},
        "url": {"type": "string"},
    }
    required = ["data", "has_more", "object", "url"]
    if kind == "search_result":
        props["next_page"] = {"type": "string", "nullable": True}
        props["total_count"] = {"type": "integer"}
        if "total_count" in INCLUDABLE["search_result"]:
            props["total_count"]["x-stripe-includable"] = True
        required.append("next_page")
    return {"type": "object", "properties": props, "required": sorted(required)}


# ---------------------------------------------------------------------------------------------------------------
# the document


def error_schema() -> dict:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": {
                    "type": {"type": "string", "enum": ["api_error", "card_error", "idempotency_error",
                                                        "invalid_request_error", "rate_limit_error",
                                                        "authentication_error"]},
                    "code": {"type": "string", "nullable": True},
                    "param": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                    "doc_url": {"type": "string", "nullable": True},
                    "decline_code": {"type": "string", "nullable": True},
                },
            }
        },
    }


def metadata_param() -> dict:
    return {
        "description": "Key-value pairs: at most 50 keys, keys up to 40 characters, values up to 500. "
                       "`metadata[k]=` removes key k; `metadata=` removes all.",
        "anyOf": [
            {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500},
             "maxProperties": 50, "x-key-max-length": 40},
            dict(EMPTY_STRING),
        ],
    }


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def operation_doc(row: OperationRow) -> dict:
    params_cls = _load(row.params, "stripe.params") if row.params else None
    fields = typeddict_schema(params_cls) if params_cls else {"type": "object", "properties": {}}
    for (op_id, dotted), extra in REFERENCE_EXTRA_FIELDS.items():
        if op_id == row.operation_id:
            _object_node(fields["properties"][dotted])["properties"].update(extra)
    for (op_id, dotted), required in REFERENCE_OVERRIDES.items():
        if op_id == row.operation_id:
            _apply_override(fields, dotted, required)
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 5000}}
        for name in path_params(row.path)
    ]
    op: dict = {"operationId": row.operation_id, "tags": [row.tag], "summary": row.summary}
    if row.method in ("get", "delete"):
        for name, schema in fields["properties"].items():
            if name == "limit":
                schema = {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
            param = {"name": name, "in": "query", "required": name in fields.get("required", []),
                     "schema": schema}
            if name in LIST_PARAM_DOCS:
                param["description"] = LIST_PARAM_DOCS[name]
            if _needs_deep_object(schema):
                param["style"], param["explode"] = "deepObject", True
            parameters.append(param)
    else:
        body = {k: v for k, v in fields.items()}
        op["requestBody"] = {
            "required": bool(fields.get("required")),
            "content": {"application/x-www-form-urlencoded": {
                "schema": body,
                "encoding": {name: {"style": "deepObject", "explode": True}
                             for name, schema in body["properties"].items() if _needs_deep_object(schema)},
            }},
        }
    if parameters:
        op["parameters"] = parameters
    kind, _, target = row.returns.partition(":")
    if kind == "object":
        ok = {"$ref": f"#/components/schemas/{target}"}
    elif kind == "list":
        ok = list_envelope({"$ref": f"#/components/schemas/{target}"})
    elif kind == "search":
        ok = list_envelope({"$ref": f"#/components/schemas/{target}"}, "search_result")
    else:
        ok = {"$ref": f"#/components/schemas/{target}"}
    op["responses"] = {
        "200": {"description": "Successful response.", "content": {"application/json": {"schema": ok}}},
        "default": {"description": "Error response.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}},
    }
    links = links_for(row)
    if links:
        op["responses"]["200"]["links"] = links
    for status, text in {**ERROR_STATUSES, **EXTRA_ERROR_STATUSES.get(row.operation_id, {})}.items():
        if status == "404" and not path_params(row.path):
            continue
        op["responses"][status] = {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/error"}}}}
    return op


ERROR_STATUSES = {
    "400": "Invalid request: a parameter is missing, unknown or invalid, or the action is not allowed now.",
    "401": "No valid API key provided.",
    "404": "No such object for this account.",
}


EXTRA_ERROR_STATUSES = {
    "PayInvoice": {"402": "The payment was declined; the invoice stays open."},
}


def _needs_deep_object(schema: dict) -> bool:
    if schema.get("type") in ("object", "array"):
        return True
    return any(_needs_deep_object(b) for b in schema.get("anyOf", []))


def deleted_schema(object_name: str) -> dict:
    return {"type": "object", "required": ["deleted", "id", "object"], "properties": {
        "id": {"type": "string"}, "object": {"type": "string", "enum": [object_name]},
        "deleted": {"type": "boolean", "enum": [True]}}}


def _resource_prefixes() -> dict[str, str]:
    """Path prefix that names one object (`/v1/invoices/{invoice}`) -> the schema of that object."""
    prefixes: dict[str, str] = {}
    for row in sorted(OPERATIONS, key=lambda r: r.method != "get"):  # a retrieve (GET) decides first
        params = path_params(row.path)
        kind, _, target = row.returns.partition(":")
        if not params or kind != "object":
            continue
        if len(params) == 1:
            prefix = row.path[: row.path.index("{" + params[0] + "}") + len(params[0]) + 2]
            prefixes.setdefault(prefix, target)
    return prefixes


def links_for(row: OperationRow) -> dict[str, dict]:
    """OpenAPI links from this operation's 200 answer to the operations that act on what it returns, so
    stateful tools (Schemathesis) can chain create -> retrieve/update/delete/actions and list -> retrieve."""
    kind, _, target = row.returns.partition(":")
    if kind not in ("object", "list", "search"):
        return {}
    id_pointer = "$response.body#/id" if kind == "object" else "$response.body#/data/0/id"
    prefixes = _resource_prefixes()
    links = {}
    for other in OPERATIONS:
        params = path_params(other.path)
        if not params or other is row:
            continue
        prefix = other.path[: other.path.index("{" + params[0] + "}") + len(params[0]) + 2]
        if prefixes.get(prefix) != target:
            continue
        values = {params[0]: id_pointer}
        if len(params) == 2:
            if kind != "object" or params[1] != "line_item_id":
                continue
            values[params[1]] = "$response.body#/lines/data/0/id"
        links[other.operation_id] = {"operationId": other.operation_id, "parameters": values}
    return links


def build_document() -> dict:
    components = build_response_components()
    components["deleted_invoice"] = deleted_schema("invoice")
    components["deleted_invoiceitem"] = deleted_schema("invoiceitem")
    components["error"] = error_schema()
    components["metadata_param"] = metadata_param()
    paths: dict[str, dict] = {}
    for row in OPERATIONS:
        paths.setdefault(row.path, {})[row.method] = operation_doc(row)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Stripe API slice under test",
            "version": "2026-11-harness-1",
            # The API version of the `stripe` package the schemas come from: the harness sends it as Stripe-Version
            # and the mock answers with it (response shapes depend on it).
            "x-stripe-api-version": importlib.import_module("stripe").api_version,
            "x-stripe-package": importlib.import_module("stripe").VERSION,
            "description": "The 50 operations the harness checks: invoices, invoice items and lines, invoice "
                           "payments and rendering templates, Financial Connections, forwarding requests, "
                           "Identity and Issuing authorizations. Generated by `python -m contracts.generate`.",
        },
        "servers": [{"url": "http://127.0.0.1:12111"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "basic": {"type": "http", "scheme": "basic"}},
            "schemas": components,
        },
        "security": [{"bearer": []}, {"basic": []}],
        "tags": [{"name": t} for t in dict.fromkeys(r.tag for r in OPERATIONS)],
        "paths": paths,
    }


def dump(doc: dict, path: Path) -> None:
    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    path.write_text(yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=120, allow_unicode=True),
                    encoding="utf-8")


def main() -> None:
    target = HERE / "openapi.yaml"
    dump(build_document(), target)
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB, {len(OPERATIONS)} operations)")


if __name__ == "__main__":
    main()
