"""Capability discovery: probes are harmless, answers are classified as the module documents, a missing operation
is one finding, and --operations/--skip-operations limit the run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from requests.structures import CaseInsensitiveDict

from contracts.loader import load_contract
from harness import findings
from harness.client import ApiClient, Exchange, Response
from harness.discovery import (
    PROBE_PARAM,
    UNROUTED_PATH,
    Capabilities,
    Capability,
    OperationSelection,
    Status,
    _Answer,
    classify,
    discover,
    probe_request,
    summary_lines,
)
from harness.target import Target, start_embedded_mock
from mockserver.faults import DOZEN_MISSING, FOURTEEN_IMPLEMENTED

CONTRACT = load_contract()


def _mock(*faults: str) -> Iterator[Target]:
    with start_embedded_mock(tuple(faults), label="discovery") as target:
        yield target


@pytest.fixture(autouse=True)
def _clean_findings() -> Iterator[None]:
    findings.reset()
    yield
    findings.reset()


def _client(target: Target) -> ApiClient:
    return ApiClient(target.base_url, target.api_key, max_retries=1)


def _response(status: int, body, content_type: str = "application/json", path: str = "/v1/x") -> Response:
    ex = Exchange("GET", f"http://h{path}", path, {}, {}, status, {"content-type": content_type}, body)
    return Response(status, CaseInsensitiveDict({"content-type": content_type}), body, [ex])


# -- classification ---------------------------------------------------------------------------------------------


JSON_UNROUTED = _Answer(404, True, '{"error": {"message": "Unrecognized request URL (GET: {path})."}}')
TEXT_UNROUTED = _Answer(404, False, "404 page not found")


@pytest.mark.parametrize(("status", "body", "ctype", "unrouted", "path_params", "expected"), [
    (200, {"object": "list", "data": []}, "application/json", JSON_UNROUTED, False, Status.IMPLEMENTED),
    (400, {"error": {"code": "parameter_unknown"}}, "application/json", JSON_UNROUTED, True, Status.IMPLEMENTED),
    (404, {"error": {"code": "resource_missing", "message": "No such invoice"}}, "application/json", JSON_UNROUTED,
     True, Status.IMPLEMENTED),
    (404, {"error": {"message": "Unrecognized request URL (GET: /v1/x)."}}, "application/json", JSON_UNROUTED,
     False, Status.NOT_IMPLEMENTED),
    (405, "Method Not Allowed", "text/plain", JSON_UNROUTED, False, Status.NOT_IMPLEMENTED),
    (501, {"error": {"message": "not implemented"}}, "application/json", JSON_UNROUTED, False,
     Status.NOT_IMPLEMENTED),
    (500, {"error": {"type": "api_error"}}, "application/json", JSON_UNROUTED, False, Status.BROKEN),
    (503, "busy", "text/plain", JSON_UNROUTED, True, Status.BROKEN),
    # a non-JSON 404 unlike the server's unserved-path answer: the path is served (badly)
    (404, "Not Found", "text/plain", JSON_UNROUTED, True, Status.IMPLEMENTED),
    # exactly the unserved-path answer: missing, unless an ID in the path leaves it open
    (404, "404 page not found", "text/plain", TEXT_UNROUTED, False, Status.NOT_IMPLEMENTED),
    (404, "404 page not found", "text/plain", TEXT_UNROUTED, True, Status.UNCONFIRMED),
    # a 401/403 is no evidence of a route (a target may check keys before routing)
    (401, {"error": {"message": "Unauthorized"}}, "application/json", TEXT_UNROUTED, True, Status.UNCONFIRMED),
    (403, {"error": {"message": "Forbidden"}}, "application/json", JSON_UNROUTED, False, Status.UNCONFIRMED),
    # a JSON 404 on a path without an ID ("no invoice with ID search") is not "no such object"
    (404, {"error": {"code": "resource_missing", "message": "No such invoice: search"}}, "application/json",
     TEXT_UNROUTED, False, Status.NOT_IMPLEMENTED),
])
def test_answers_are_classified(status, body, ctype, unrouted, path_params, expected):
    assert classify(_response(status, body, ctype), "/v1/x", unrouted, path_params) is expected


def test_probes_send_something_validation_must_refuse_except_for_lists():
    for op in CONTRACT.operations.values():
        path, params = probe_request(op)
        assert "{" not in path
        if op.method == "GET" and not op.path_params:
            assert params == {"limit": 1}, op.label
        else:
            assert PROBE_PARAM in params, op.label


# -- against the mock -------------------------------------------------------------------------------------------


def test_the_clean_mock_implements_everything_and_probing_creates_nothing():
    for target in _mock():
        client = _client(target)
        caps = discover(client, CONTRACT)
        assert {c.status for c in caps.results.values()} == {Status.IMPLEMENTED}
        assert len([c for c in caps.results.values() if not c.support]) == 50
        assert findings.collected() == []
        for path in ("/v1/invoices", "/v1/invoiceitems", "/v1/customers", "/v1/identity/verification_sessions",
                     "/v1/forwarding/requests", "/v1/issuing/authorizations"):
            assert client.get(path, {"limit": 5}).json["data"] == [], f"a probe created something at {path}"
        assert summary_lines(caps.results)[0] == "The target implements 50 of the 50 operations probed."
        assert not caps.needs_watching


def test_each_missing_operation_is_one_finding_and_its_tests_skip():
    for target in _mock("dozen_operations_unimplemented"):
        caps = discover(_client(target), CONTRACT)
    missing = {op_id for op_id, c in caps.results.items() if c.status is Status.NOT_IMPLEMENTED}
    assert missing == DOZEN_MISSING
    recorded = findings.collected()
    assert len(recorded) == 12
    assert {f.category for f in recorded} == {findings.Category.NOT_IMPLEMENTED}
    assert {f.operation for f in recorded} == {CONTRACT[op_id].label for op_id in DOZEN_MISSING}
    assert all(f.tests == [] and f.exchanges for f in recorded)
    reason = caps.unavailable_reason("SearchInvoices")
    assert reason and "GET /v1/invoices/search" in reason and "does not implement" in reason
    assert caps.unavailable_reason("ListInvoices") is None
    assert "implements 38 of the 50" in summary_lines(caps.results)[0]


def test_a_text_404_server_settles_what_it_can_and_confirms_the_rest_with_existing_ids():
    for target in _mock("only_invoices_implemented"):
        client = _client(target)
        caps = discover(client, CONTRACT)
        seed = {op.operation_id for op in CONTRACT.seed_operations}
        implemented = {op_id for op_id in seed if caps.status(op_id) is Status.IMPLEMENTED}
        assert implemented == FOURTEEN_IMPLEMENTED
        unsure = {op_id for op_id in seed if caps.status(op_id) is Status.UNCONFIRMED}
        # operations on /v1/invoices/{id}/...: the collection exists, so the probe alone cannot tell
        assert "SendInvoice" in unsure and "UpdateInvoiceItem" in unsure
        assert caps.status("ListForwardingRequests") is Status.NOT_IMPLEMENTED
        assert caps.status("RetrieveForwardingRequest") is Status.NOT_IMPLEMENTED  # nothing on the collection
        before = len(findings.collected())

        # an unknown ID proves nothing: the test skips, no finding
        unknown = client.post("/v1/invoices/in_unknown/send")
        assert caps.observe(CONTRACT, unknown.exchange) is not None
        assert caps.status("SendInvoice") is Status.UNCONFIRMED and len(findings.collected()) == before

        # the target's own ID gets the unserved-path answer: confirmed missing, one finding
        customer = client.post("/v1/customers", {"name": "x"})
        invoice = client.post("/v1/invoices", {"customer": customer.json["id"]})
        caps.observe(CONTRACT, invoice.exchange)
        sent = client.post(f"/v1/invoices/{invoice.json['id']}/send")
        assert "does not implement POST /v1/invoices/{invoice}/send" in caps.observe(CONTRACT, sent.exchange)
        assert caps.status("SendInvoice") is Status.NOT_IMPLEMENTED
        assert [f.operation for f in findings.collected()[before:]] == ["POST /v1/invoices/{invoice}/send"]


def _exchange(method: str, path: str, status: int, body, auth: str | None = "Bearer sk_test_…abcd") -> Exchange:
    headers = {} if auth is None else {"Authorization": auth}
    ctype = "application/json" if isinstance(body, dict) else "text/plain"
    return Exchange(method, f"http://h{path}", path, {}, headers, status, {"content-type": ctype}, body)


def test_only_authenticated_answers_other_than_401_403_settle_an_operation():
    op = CONTRACT["FinalizeInvoice"]
    cap = Capability(op.operation_id, op.label, False, Status.UNCONFIRMED, "404 text/plain")
    caps = Capabilities({op.operation_id: cap}, TEXT_UNROUTED)
    path = "/v1/invoices/in_unknown/finalize"
    unauthorized = {"error": {"message": "Unauthorized", "type": "invalid_request_error"}}
    caps.observe(CONTRACT, _exchange("POST", path, 401, unauthorized, auth=None))  # keyless: checked key first
    caps.observe(CONTRACT, _exchange("POST", path, 401, unauthorized, auth="Bearer sk_test_…oops"))
    caps.observe(CONTRACT, _exchange("POST", path, 403, {"error": {"message": "Forbidden"}}))
    assert caps.status(op.operation_id) is Status.UNCONFIRMED
    caps.observe(CONTRACT, _exchange("POST", path, 400, {"error": {"message": "No such invoice"}}, auth=None))
    assert caps.status(op.operation_id) is Status.UNCONFIRMED  # sent without a key: no evidence either
    caps.observe(CONTRACT, _exchange("POST", path, 404, {"error": {"code": "resource_missing"}}))
    assert caps.status(op.operation_id) is Status.IMPLEMENTED


def test_a_server_error_on_a_probe_is_a_server_error_finding():
    for target in _mock("server_error_on_limit_100"):
        caps = discover(_client(target), CONTRACT)  # probes send limit=1: nothing broken
        assert not [c for c in caps.results.values() if c.status is Status.BROKEN]
    response = _response(500, {"error": {"type": "api_error"}})
    assert classify(response, "/v1/x", None, False) is Status.BROKEN


def test_unrouted_probe_path_is_served_by_no_operation():
    assert CONTRACT.match("GET", UNROUTED_PATH) is None


# -- selecting operations ----------------------------------------------------------------------------------------


def test_selection_patterns_match_ids_labels_and_tags():
    chosen = OperationSelection.parse("Invoices, *InvoiceItem*", "DeleteInvoice")
    assert chosen.selects(CONTRACT["CreateInvoice"])
    assert chosen.selects(CONTRACT["ListInvoiceItems"])
    assert not chosen.selects(CONTRACT["DeleteInvoice"])
    assert not chosen.selects(CONTRACT["ListForwardingRequests"])
    assert chosen.selects(CONTRACT["CreateCustomer"])  # the world still needs supporting endpoints
    assert OperationSelection.parse("GET /v1/invoices/*", None).selects(CONTRACT["RetrieveInvoice"])
    assert OperationSelection.parse(None, "identity").selects(CONTRACT["ListInvoices"])
    assert OperationSelection.parse("Invoices,NoSuchThing", None).unknown_patterns(CONTRACT) == ["NoSuchThing"]


def test_excluded_operations_are_not_probed_and_not_counted():
    chosen = OperationSelection.parse("Invoices", None)
    for target in _mock("dozen_operations_unimplemented"):
        caps = discover(_client(target), CONTRACT, chosen)
    assert caps.status("ListForwardingRequests") is Status.EXCLUDED
    assert "excluded" in caps.unavailable_reason("ListForwardingRequests")
    assert {f.operation for f in findings.collected()} == {
        "POST /v1/invoices/create_preview", "GET /v1/invoices/search", "POST /v1/invoices/{invoice}/attach_payment",
        "POST /v1/invoices/{invoice}/remove_lines", "POST /v1/invoices/{invoice}/send",
        "POST /v1/invoices/{invoice}/update_lines"}
    assert "left out by --operations" in summary_lines(caps.results)[0]


def _collect(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites/test_security.py", "--collect-only", "-q",
                           "-p", "no:randomly", *args], capture_output=True, text=True, timeout=300)
    return proc.stdout + proc.stderr


def test_operations_option_deselects_the_other_operations_tests():
    out = _collect("--operations", "CreateInvoice")
    assert "test_missing_api_key_is_rejected_with_401[CreateInvoice]" in out
    assert "[ListInvoices]" not in out and "deselected" in out


def test_an_unknown_operation_pattern_is_a_usage_error():
    out = _collect("--skip-operations", "NoSuchOperation")
    assert "match no operation of the contract" in out and "Traceback" not in out


def test_merged_parts_keep_the_worst_news(tmp_path):
    a, b = tmp_path / "gw0.json", tmp_path / "gw1.json"
    for part, status in ((a, Status.UNCONFIRMED), (b, Status.NOT_IMPLEMENTED)):
        Capabilities({"SendInvoice": _cap(status)}).save(part)
    assert Capabilities.merge([a, b])["SendInvoice"].status is Status.NOT_IMPLEMENTED


def _cap(status: Status):
    from harness.discovery import Capability

    return Capability("SendInvoice", "POST /v1/invoices/{invoice}/send", False, status, "404 text/plain")


def test_a_not_implemented_finding_replays_with_its_own_check():
    from harness.discovery import operation_is_implemented

    op = CONTRACT["SendInvoice"]
    with pytest.raises(findings.CheckFailed) as info:
        operation_is_implemented(op, _response(404, "404 page not found", "text/plain"))
    assert info.value.finding.category is findings.Category.NOT_IMPLEMENTED
    operation_is_implemented(op, _response(404, {"error": {"code": "resource_missing", "message": "No such"}}))
    with pytest.raises(findings.CheckFailed):  # a 404 on a path without an ID stays "not implemented"
        operation_is_implemented(CONTRACT["SearchInvoices"], _response(404, {"error": {"message": "No such"}}))
    assert findings.registered_check("operation_is_implemented") is operation_is_implemented
