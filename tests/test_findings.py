"""Typed findings: checks produce them, one defect is one finding, parts merge, the exit code follows them."""

from __future__ import annotations

import json

import pytest
from requests.structures import CaseInsensitiveDict

from contracts.loader import load_contract
from harness import checks, findings, steps
from harness.client import Exchange, Response
from harness.findings import ANY_OPERATION, Category, CheckFailed, Finding
from harness.findings_output import load_parts, markdown, save_part, summary_lines, write_reports
from harness.findings_plugin import exit_status
from harness.redaction import register_secret

CONTRACT = load_contract()
KEY = "sk_test_findingsunit" + "0123456789abcdef"


@pytest.fixture(autouse=True)
def fresh_registry(fresh_findings):
    """Every test here starts and ends with a clean findings registry (tests/conftest.py)."""


def response(status: int, body, *, method: str = "GET", path: str = "/v1/invoices", headers: dict | None = None,
             request_body: str | None = None) -> Response:
    sent = {"Authorization": f"Bearer {KEY}"}
    register_secret(KEY)
    got = {"Content-Type": "application/json", "Request-Id": "req_123"} if headers is None else headers
    ex = Exchange(method, f"http://127.0.0.1:1{path}", path, {}, {"Authorization": "Bearer sk_test_…(redacted)"},
                  status, dict(got), body, request_body=request_body)
    ex.request_headers = {k: v.replace(KEY, "sk_test_…(redacted)") for k, v in sent.items()}
    steps.observe(ex)
    return Response(status, CaseInsensitiveDict(got), body, [ex])


def test_a_missing_request_id_in_many_operations_is_one_finding():
    for n, op_id in enumerate(["ListInvoices", "ListInvoiceItems", "ListInvoices"]):
        findings.set_current_test(f"t{n}")
        op = CONTRACT[op_id]
        checks.has_request_id(op, response(200, {}, path=op.path, headers={"Content-Type": "application/json"}))
    (only,) = findings.collected()
    assert only.category is Category.CONTRACT and only.operation == ANY_OPERATION
    assert only.signature == "header missing" and only.count == 3 and only.tests == ["t0", "t1", "t2"]
    assert only.operations == ["GET /v1/invoices", "GET /v1/invoiceitems"]


def test_recorded_checks_do_not_stop_the_test_and_raised_ones_carry_a_typed_finding():
    op = CONTRACT["ListInvoices"]
    resp = response(200, {"object": "list"}, headers={"Content-Type": "text/html"})
    checks.is_json_with_request_id(op, resp)  # records two findings, raises nothing
    assert {f.signature for f in findings.collected()} == {"2xx answered as text/html", "header missing"}
    with pytest.raises(CheckFailed) as raised:
        checks.is_stripe_error(op, resp, status=400)
    found = raised.value.finding
    assert found.category is Category.CONTRACT and found.operations == ["GET /v1/invoices"]
    assert found.signature == "expected 400, got 200"
    assert str(raised.value).startswith("Contract violation: GET /v1/invoices")
    with pytest.raises(CheckFailed) as server:
        checks.no_server_error(op, response(502, {"error": {"type": "api_error", "message": "x"}}))
    assert server.value.finding.category is Category.SERVER_ERROR and server.value.finding.signature == "status 502"


def test_schema_signatures_name_the_object_field_and_keyword_without_per_run_values():
    op = CONTRACT["RetrieveInvoiceItem"]
    good = {"id": "ii_1234567890abcdef", "object": "invoiceitem", "amount": 100}
    bad = dict(good, amount="100")
    errors = list(op.validator(200).iter_errors(bad))
    signatures = {checks.schema_signature(bad, e) for e in errors}
    assert 'invoiceitem.amount: type "integer"' in signatures
    listed = {"object": "list", "data": [good, bad]}
    list_op = CONTRACT["ListInvoiceItems"]
    assert 'invoiceitem.amount: type "integer"' in {checks.schema_signature(listed, e)
                                                  for e in list_op.validator(200).iter_errors(listed)}


def test_negative_defects_of_one_kind_are_one_server_wide_finding():
    for op_id in ("ListInvoices", "ListInvoiceItems"):
        op = CONTRACT[op_id]
        with pytest.raises(CheckFailed) as raised:
            checks.is_stripe_error(op, response(200, {"object": "list", "data": [], "has_more": False,
                                                      "url": op.path}, path=op.path),
                                   defect="range", context="limit=101 outside 1..100")
        findings.record(raised.value.finding)
    (only,) = findings.collected()
    assert only.signature == "range: not answered 400" and only.operation == ANY_OPERATION
    assert len(only.operations) == 2 and "limit=101" in only.detail


def test_error_envelope_is_recorded_and_the_smallest_example_is_kept():
    op = CONTRACT["CreateInvoice"]
    error = {"error": {"type": "invalid_request_error", "message": "bad"}}
    big = response(400, error, method="POST", path=op.path, request_body="a=" + "x" * 200)
    small = response(400, error, method="POST", path=op.path, request_body="a=1")
    checks.is_stripe_error(op, big, param="a")
    checks.is_stripe_error(op, small, param="a")
    (only,) = findings.collected()
    assert only.signature == "error.param missing" and only.count == 2
    assert only.raw[-1].request_body == "a=1"


def test_the_kept_example_is_the_smallest_request_counting_headers_and_bytes():
    def occurrence(url: str, headers: dict[str, str]) -> Finding:
        ex = Exchange("GET", url, "/v1/invoices", {}, headers, 500, {}, "boom").to_dict()
        return Finding(Category.SERVER_ERROR, "no 5xx", "GET /v1/invoices", "status 500", "d", [ex])

    fuzzed = occurrence("http://h/v1/invoices?status=\u00e9\u00e9\u00e9", {f"X-F{i}": "\u2603" * 3 for i in range(5)})
    plain = occurrence("http://h/v1/invoices?status=draft", {"User-Agent": "harness"})
    assert findings.request_size(fuzzed.exchanges[-1]) > findings.request_size(plain.exchanges[-1])
    fuzzed.absorb(plain)
    assert fuzzed.exchanges[-1]["url"].endswith("status=draft") and fuzzed.count == 2


def test_steps_rebuild_the_objects_a_failing_request_uses():
    customer = response(200, {"id": "cus_abcdefgh1234", "object": "customer"}, method="POST", path="/v1/customers",
                        request_body="email=a%40b.c")
    invoice = response(200, {"id": "in_abcdefgh1234", "object": "invoice"}, method="POST", path="/v1/invoices",
                       request_body="customer=cus_abcdefgh1234")
    response(200, {"id": "in_zzzzzzzz9999", "object": "invoice"}, method="POST", path="/v1/invoices",
             request_body="customer=cus_abcdefgh1234")  # unrelated: not a step
    item = response(200, {"id": "ii_abcdefgh1234", "object": "invoiceitem"}, method="POST", path="/v1/invoiceitems",
                    request_body="invoice=in_abcdefgh1234&amount=5")
    final = response(200, {"id": "in_abcdefgh1234"}, method="POST", path="/v1/invoices/in_abcdefgh1234/finalize")
    failing = response(200, {"id": "in_abcdefgh1234"}, path="/v1/invoices/in_abcdefgh1234")
    got = steps.steps_for(failing.exchange)
    assert [s.path for s in got] == [customer.exchange.path, invoice.exchange.path, item.exchange.path,
                                     final.exchange.path]


def test_parts_merge_and_the_outputs_hold_no_key(tmp_path):
    op = CONTRACT["ListInvoices"]
    findings.set_current_test("suites/a.py::t")
    checks.has_request_id(op, response(200, {}, headers={"Content-Type": "application/json"}))
    save_part(findings.collected(), tmp_path / "parts" / "gw0.json")
    findings.reset()
    findings.set_current_test("suites/b.py::t")
    checks.has_request_id(op, response(200, {}, headers={"Content-Type": "application/json"}))
    save_part(findings.collected(), tmp_path / "parts" / "gw1.json")
    (merged,) = load_parts(tmp_path / "parts")
    assert merged.count == 2 and merged.tests == ["suites/a.py::t", "suites/b.py::t"]
    written = write_reports([merged], tmp_path)
    document = json.loads((tmp_path / "findings.json").read_text())
    assert document["distinct"] == 1 and document["findings"][0]["id"] == merged.id
    entry = document["findings"][0]
    for key in ("id", "category", "check", "operation", "signature", "count", "tests", "request", "response", "curl",
                "reproducible"):
        assert key in entry
    assert "$HARNESS_API_KEY" in entry["curl"][-1]
    assert (tmp_path / "findings" / f"{merged.id}.json").exists()
    for path in [*written[:2], *(tmp_path / "findings").glob("*.json"), *(tmp_path / "parts").glob("*.json")]:
        assert KEY not in path.read_text()
    assert "1 distinct finding" in summary_lines([merged])[0] and merged.id in markdown([merged])


def test_a_finding_round_trips_through_json():
    found = Finding(Category.INVARIANT, "walking pages ends", "GET /v1/invoices", "", "more than 500 pages",
                    tests=["t"], predicate={"check": "succeeds", "kwargs": {}})
    again = Finding.from_dict(json.loads(json.dumps(found.to_dict())))
    assert again.key == found.key and again.id == found.id and again.tests == ["t"]


def test_exit_status_follows_reproducible_defects_and_unexplained_failures():
    defect = Finding(Category.CONTRACT, "c", "*", "s", tests=["t1"])
    assert exit_status([defect], {"t1"}) == 1
    defect.reproducible = False  # replayed, did not happen again: flaky
    assert exit_status([defect], {"t1"}) == 0
    assert exit_status([defect], {"t1", "t2"}) == 1  # t2 failed and no finding explains it
    assert exit_status([Finding(Category.HARNESS, "KeyError in the harness", "*", "x")], set()) == 1
    assert exit_status([], set()) == 0


def test_check_names_and_signatures_fold_per_run_values():
    a = Finding(Category.INVARIANT, "in_abcdefgh12345 is listed", "GET /v1/invoices", "created 1795982159")
    b = Finding(Category.INVARIANT, "in_zyxwvuts98765 is listed", "GET /v1/invoices", "created 1795000000")
    assert a.key == b.key


def test_many_unimplemented_operations_fold_into_one_summary_line():
    missing = [Finding(Category.NOT_IMPLEMENTED, "the operation is implemented", f"GET /v1/thing{n}",
                       "not implemented") for n in range(36)]
    defect = Finding(Category.CONTRACT, "every response has a Request-Id header", ANY_OPERATION, "header missing",
                     operations=["GET /v1/invoices"])
    missing[0].operation = "POST /v1/invoices/{invoice}/finalize"  # a contract operation: shown by its ID
    lines = summary_lines([*missing, defect])
    assert lines[0].startswith("37 distinct findings"), lines
    assert "  36 operations not implemented (list in reports/findings.md):" in lines
    text = "\n".join(lines)
    assert "FinalizeInvoice" in text and "GET /v1/thing1," in text
    assert max(len(line) for line in lines) <= 100 and len(lines) <= 20, lines


def test_summary_lines_read_naturally_and_say_where_a_finding_was_seen():
    missing = Finding(Category.NOT_IMPLEMENTED, "the operation is implemented", "POST /v1/invoices/{invoice}/send",
                      "not implemented", count=2)
    lines = summary_lines([missing])
    assert " ".join(line.strip() for line in lines[2:]) == (
        f"[{missing.id}] POST /v1/invoices/{{invoice}}/send is not implemented - seen 2x during set-up / discovery, "
        "not replayed"), lines
    assert missing.headline() == "not implemented: POST /v1/invoices/{invoice}/send"
    assert "(not implemented)" not in missing.label()


def test_the_allure_label_of_a_finding_does_not_change_as_it_is_seen_on_more_operations():
    first = Finding(Category.CONTRACT, "every response has a Request-Id header", ANY_OPERATION, "header missing",
                    operations=["GET /v1/invoices"])
    label = first.label()
    first.absorb(Finding(Category.CONTRACT, "every response has a Request-Id header", ANY_OPERATION,
                         "header missing", operations=["GET /v1/invoiceitems"]))
    assert first.label() == label and "2 operations" in first.headline()


def test_invalid_requests_carry_the_kind_of_defect_they_plant():
    """The negative suite keys its findings by the kind of defect (one finding per kind, server-wide): every
    invalid request must say which kind it carries, also once its placeholders are bound to real IDs."""
    from hypothesis import HealthCheck, given, settings

    from strategies import invalid_requests
    from strategies.requests import Refs

    kinds = set()

    @settings(max_examples=25, database=None, suppress_health_check=list(HealthCheck))
    @given(invalid_requests(CONTRACT["UpdateInvoice"], Refs({"invoice:draft": ["in_1234567890ab"]})))
    def draw(req) -> None:
        assert req.defect, req.label
        kinds.add(req.defect)

    draw()
    assert len(kinds) > 1


def test_an_object_id_in_the_operation_does_not_split_a_finding():
    a = Finding(Category.INVARIANT, "a finalized invoice has a number", "invoice in_6BG4vOt6VT3kRIU6", "")
    b = Finding(Category.INVARIANT, "a finalized invoice has a number", "invoice in_Zq81kLmN0pQrStUv", "")
    assert a.key == b.key and a.operation == "invoice <id>"


def test_the_findings_summary_is_the_last_thing_a_run_prints(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HARNESS_FAULT": "no_request_id", "HARNESS_REPORTS_DIR": str(tmp_path)}
    env.pop("HARNESS_BASE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites/test_conformance.py", "-q", "-p", "no:randomly",
                           "-p", "no:cacheprovider", "--profile", "quick", "-k", "ListInvoices"],
                          capture_output=True, text=True, timeout=600, env=env)
    out = proc.stdout
    assert "short test summary info" in out and "API coverage" in out, out[-3000:]
    findings_at = out.rindex("= findings =")
    assert out.rindex("API coverage") < findings_at and out.rindex("short test summary info") < findings_at
    assert "Request-Id" in out[findings_at:]
