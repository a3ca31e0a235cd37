"""The contract files and their loader: everything else (mock, suites, strategies) trusts what these return.

Checks that the documents are valid OpenAPI, that there are exactly the 50 operations under test, that path lookup
finds each one (literal segments beating templates), that OpenAPI 3.0's `nullable` becomes JSON Schema's null type,
and that the committed contract is exactly what the generator produces (so nobody hand-edits the generated file).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import openapi_spec_validator
import pytest
import yaml

from contracts.loader import CONTRACT_PATH, SUPPORT_PATH, fill_path, load_contract, to_json_schema
from mockserver.testing import InProcessClient

ROOT = Path(__file__).resolve().parent.parent
HTTP_METHODS = ("get", "post", "delete", "put", "patch", "head", "options", "trace")


def raw(path: Path) -> dict:
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def operation_ids(doc: dict) -> list[str]:
    return [op["operationId"] for item in doc["paths"].values() for method, op in item.items()
            if method in HTTP_METHODS]


# -- the documents -------------------------------------------------------------------------------------------------


def test_contract_is_valid_openapi() -> None:
    openapi_spec_validator.validate(raw(CONTRACT_PATH))


def test_support_document_is_valid_openapi_with_the_contract_components() -> None:
    """support.yaml refers to components of openapi.yaml (error, metadata_param, the objects), as the loader merges
    them; validated the way the loader reads it: its own components plus the contract's."""
    support, main = raw(SUPPORT_PATH), raw(CONTRACT_PATH)
    merged = copy.deepcopy(support)
    merged.setdefault("components", {})["schemas"] = {**main["components"]["schemas"],
                                                      **support.get("components", {}).get("schemas", {})}
    openapi_spec_validator.validate(merged)
    assert not set(support["paths"]) & set(main["paths"]), "a path is in both documents"


def test_fifty_seed_operations_with_unique_ids() -> None:
    contract = load_contract()
    main_ids, support_ids = operation_ids(raw(CONTRACT_PATH)), operation_ids(raw(SUPPORT_PATH))
    duplicated = [op_id for op_id, n in Counter(main_ids + support_ids).items() if n > 1]
    assert duplicated == []
    assert len(main_ids) == 50
    assert sorted(op.operation_id for op in contract.seed_operations) == sorted(main_ids)
    assert sorted(op.operation_id for op in contract.operations.values() if op.support) == sorted(support_ids)
    assert len(contract.operations) == 50 + len(support_ids)


def test_every_operation_has_a_200_and_an_error_schema() -> None:
    for op in load_contract().operations.values():
        assert "200" in op.responses, op.operation_id
        assert op.responses["default"] == {"$ref": "#/components/schemas/error"}, op.operation_id
        assert op.path.startswith("/v1/") and op.method in ("GET", "POST", "DELETE"), op.label


# -- path lookup -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op_id", [op.operation_id for op in load_contract().operations.values()])
def test_match_finds_each_operation_from_a_concrete_path(op_id: str) -> None:
    contract = load_contract()
    op = contract[op_id]
    values = {name: f"{name}_Sample123" for name in op.path_params}
    matched = contract.match(op.method, fill_path(op.path, values))
    assert matched is not None, op.label
    assert (matched[0].operation_id, matched[1]) == (op_id, values)
    assert contract.match(op.method.lower(), fill_path(op.path, values))[0] is op  # type: ignore[index]


@pytest.mark.parametrize(("method", "path", "op_id", "params"), [
    ("GET", "/v1/invoices/search", "SearchInvoices", {}),
    ("POST", "/v1/invoices/create_preview", "CreateInvoicePreview", {}),
    ("GET", "/v1/invoices/in_123", "RetrieveInvoice", {"invoice": "in_123"}),
    ("POST", "/v1/invoices/in_123", "UpdateInvoice", {"invoice": "in_123"}),
    ("DELETE", "/v1/invoices/in_123", "DeleteInvoice", {"invoice": "in_123"}),
    ("POST", "/v1/invoices/in_123/lines/il_456", "UpdateInvoiceLine", {"invoice": "in_123", "line_item_id": "il_456"}),
    ("GET", "/v1/invoices/in_123/lines", "ListInvoiceLines", {"invoice": "in_123"}),
    ("POST", "/v1/invoices/in_123/finalize", "FinalizeInvoice", {"invoice": "in_123"}),
    # no GET has the literal `create_preview`, so the template serves it (and says "no such invoice" later)
    ("GET", "/v1/invoices/create_preview", "RetrieveInvoice", {"invoice": "create_preview"}),
    ("POST", "/v1/test_helpers/identity/verification_sessions/vs_1/verify",
     "TestHelperVerifyIdentityVerificationSession", {"session": "vs_1"}),
])
def test_literal_segments_win(method: str, path: str, op_id: str, params: dict[str, str]) -> None:
    matched = load_contract().match(method, path)
    assert matched is not None
    assert (matched[0].operation_id, matched[1]) == (op_id, params)


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/v1/invoices/in_1"), ("PATCH", "/v1/invoices"), ("GET", "/v1/invoices/in_1/finalize"),
    ("GET", "/v1/invoices/in_1/lines/il_1"), ("POST", "/v1/invoices/in_1/unknown"), ("GET", "/v1/invoices//lines"),
    ("GET", "/v1/nothing"), ("GET", "/"), ("GET", ""), ("DELETE", "/v1/invoices/in_1/lines"),
    ("GET", "/v2/invoices"), ("GET", "/v1/invoices/in_1/lines/il_1/extra"),
])
def test_match_refuses_what_no_operation_serves(method: str, path: str) -> None:
    assert load_contract().match(method, path) is None


def valid(schema: dict, value: Any) -> bool:
    return load_contract().compile(schema).is_valid(value)


def test_nullable_accepts_null() -> None:
    nullable = {"type": "string", "nullable": True}
    assert to_json_schema(nullable) == {"type": ["string", "null"]}
    assert valid(nullable, None) and valid(nullable, "x") and not valid(nullable, 1)
    assert not valid({"type": "string"}, None)
    assert valid({"type": "object", "nullable": True, "properties": {"a": {"type": "integer"}}}, None)


def test_nullable_enum_gets_null_once() -> None:
    schema = {"type": "string", "enum": ["a", "b"], "nullable": True}
    assert to_json_schema(schema)["enum"] == ["a", "b", None]
    assert valid(schema, None) and valid(schema, "a") and not valid(schema, "c")
    listed = {"type": "string", "enum": ["a", None], "nullable": True}
    assert to_json_schema(listed)["enum"] == ["a", None]
    assert valid(listed, None) and not valid({"type": "string", "enum": ["a", "b"]}, None)


def test_openapi_only_keys_are_dropped() -> None:
    converted = to_json_schema({"type": "integer", "format": "unix-time", "description": "d", "example": 1,
                                "x-stripeBypassValidation": True, "properties": {"p": {"nullable": False,
                                                                                       "type": "string"}}})
    assert converted == {"type": "integer", "properties": {"p": {"type": "string"}}}


def test_compiled_validators_reject_wrong_types() -> None:
    client = InProcessClient()
    customer = client.post("/v1/customers", {}).body
    invoice = client.post("/v1/invoices", {"customer": customer["id"]}).body
    op = load_contract()["RetrieveInvoice"]
    assert op.response_errors(200, invoice) == []
    for field, bad in (("amount_due", "100"), ("status", "pending"), ("livemode", "false"), ("lines", []),
                       ("created", 1.5), ("metadata", {"k": 1})):
        errors = op.response_errors(200, {**invoice, field: bad})
        assert errors and all(e.startswith("at ") for e in errors), (field, errors)
    missing = {k: v for k, v in invoice.items() if k != "id"}
    assert op.response_errors(200, missing)
    assert op.response_errors(200, {**invoice, "brand_new_field": 1}) == []  # providers add fields
    error_op_check = op.response_errors(404, {"error": {"type": "invalid_request_error", "message": "m"}})
    assert error_op_check == []
    assert op.response_errors(404, {"message": "m"})


def test_expandable_fields() -> None:
    contract = load_contract()
    invoice = contract.expandable_fields("invoice")
    assert "customer" in invoice and invoice["latest_revision"] == "invoice"
    assert "status" not in invoice and "lines" not in invoice
    assert contract.expandable_fields("invoiceitem")["invoice"] == "invoice"
    assert contract.expandable_fields("invoice_payment") == {"invoice": "invoice"}


def test_operation_shapes() -> None:
    contract = load_contract()
    assert contract["ListInvoices"].response_kind == "list" and contract["ListInvoices"].resource == "invoice"
    assert contract["SearchInvoices"].response_kind == "search_result"
    assert contract["DeleteInvoice"].response_kind == "deleted"
    assert contract["RetrieveInvoice"].resource == "invoice"
    assert contract["AddInvoiceLines"].request_schema["required"] == ["lines"]
    query = contract["ListInvoices"].request_schema
    assert query["additionalProperties"] is False and "status" in query["properties"]
    with pytest.raises(KeyError, match="NoSuchOperation"):
        contract["NoSuchOperation"]


# -- regeneration --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_generator_reproduces_the_committed_contract(tmp_path: Path) -> None:
    """`python -m contracts.generate`, pointed at a temp dir (its `main` writes to HERE/openapi.yaml), twice with
    different hash seeds: byte-identical to the committed file both times."""
    script = ("import pathlib, sys, contracts.generate as g\n"
              "g.HERE = pathlib.Path(sys.argv[1])\n"
              "g.main()\n")
    outputs = []
    for seed in ("0", "12345"):
        out_dir = tmp_path / f"seed{seed}"
        out_dir.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", script, str(out_dir)], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append((out_dir / "openapi.yaml").read_bytes())
    committed = CONTRACT_PATH.read_bytes()
    assert outputs[0] == outputs[1], "the generator is not deterministic across runs"
    assert outputs[0] == committed, "contracts/openapi.yaml differs from what `python -m contracts.generate` writes"


def test_operations_answering_the_same_schema_share_one_validator() -> None:
    contract = load_contract()
    retrieve, finalize, items = contract["RetrieveInvoice"], contract["FinalizeInvoice"], contract["ListInvoiceItems"]
    assert retrieve.validator(200) is finalize.validator(200)  # both answer an invoice
    assert retrieve.validator(404) is items.validator(400)  # every error is the `error` component
    assert retrieve.validator(200) is not items.validator(200)  # an invoice, a list of invoice items
    assert not retrieve.validator(200).is_valid({"object": "list", "data": [], "has_more": False, "url": "/v1/x"})
