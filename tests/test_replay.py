"""Replaying findings: a real defect reproduces, a passing glitch does not (flaky), the command line says which by
its exit code, and no key is ever printed; a suite run under xdist merges its workers' findings into one list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.loader import load_contract
from harness import checks, findings, steps
from harness.client import ApiClient
from harness.findings import CheckFailed, Finding
from harness.findings_output import write_reports
from harness.replay import Replayer, replay_all
from harness.target import fresh_test_key, start_embedded_mock

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = load_contract()


@pytest.fixture(autouse=True)
def fresh_registry(fresh_findings):
    """Every test here starts and ends with a clean findings registry (tests/conftest.py)."""


@pytest.fixture(scope="module")
def faulty():
    with start_embedded_mock(("void_accepts_draft",), label="replaytest") as target:
        yield target


@pytest.fixture(scope="module")
def clean():
    with start_embedded_mock(label="replayclean") as target:
        yield target


def client(target, key: str | None = None) -> ApiClient:
    return ApiClient(target.base_url, key or target.api_key, on_exchange=steps.observe, backoff=0.01)


def void_a_draft(api: ApiClient) -> Finding:
    """The lifecycle rule "a draft invoice cannot be voided", checked as the suites do; returns its finding."""
    customer = checks.succeeds(CONTRACT["CreateCustomer"], api.post("/v1/customers", {"email": "r@example.com"}))
    invoice = api.post("/v1/invoices", {"customer": customer["id"]}).body
    resp = api.post(f"/v1/invoices/{invoice['id']}/void")
    with pytest.raises(CheckFailed) as raised:
        checks.is_stripe_error(CONTRACT["VoidInvoice"], resp, status=400, error_type=None,
                               what="voiding a draft invoice is refused")
    return findings.record(raised.value.finding)


def test_a_real_defect_reproduces_and_a_fixed_one_is_flaky(faulty, clean):
    with client(faulty) as api:
        found = void_a_draft(api)
    assert [ex.path.split("/")[-1] for ex in found.raw][-1] == "void"
    assert [ex.method for ex in found.raw] == ["POST", "POST", "POST"]  # customer, invoice, void
    with client(faulty, fresh_test_key("again")) as other:
        assert Replayer(other).replay(found)[0] is True
    with client(clean) as fixed:
        counts = replay_all([found], Replayer(fixed))
    assert counts["not reproduced"] == 1 and found.reproducible is False and not found.counts_as_defect


def test_the_replay_command_exit_code_and_output(faulty, clean, tmp_path):
    with client(faulty) as api:
        found = void_a_draft(api)
    write_reports([found], tmp_path)
    path = tmp_path / "findings" / f"{found.id}.json"
    assert faulty.api_key not in path.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}

    def replay(target) -> subprocess.CompletedProcess:
        key = fresh_test_key("cli")
        done = subprocess.run([sys.executable, "-m", "harness.replay", str(path), "--base-url", target.base_url],
                              cwd=ROOT, env={**env, "HARNESS_API_KEY": key}, capture_output=True, text=True,
                              timeout=60)
        assert key not in done.stdout + done.stderr
        return done

    still = replay(faulty)
    assert still.returncode == 0 and "REPRODUCED" in still.stdout, still.stdout + still.stderr
    fixed = replay(clean)
    assert fixed.returncode == 1 and "NOT REPRODUCED" in fixed.stdout, fixed.stdout + fixed.stderr
    usage = subprocess.run([sys.executable, "-m", "harness.replay", str(path)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "--base-url" in usage.stderr and "Traceback" not in usage.stderr


SUITE = '''
from harness.checks import label_test, succeeds


def test_one(api, contract):
    op = contract["ListInvoices"]
    label_test(op, "findings pipeline")
    succeeds(op, api.get("/v1/invoices"))


def test_two(api, contract):
    op = contract["ListInvoiceItems"]
    label_test(op, "findings pipeline")
    succeeds(op, api.get("/v1/invoiceitems"))
'''


def run_suite(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    test_file = tmp_path / "test_pipeline.py"
    test_file.write_text(SUITE)
    reports = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    done = subprocess.run([sys.executable, "-m", "pytest", str(test_file), "-p", "no:randomly", "-p",
                           "no:cacheprovider", "-p", "harness.plugin", "-p", "harness.findings_plugin",
                           "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), "--profile", "quick", *args],
                          cwd=ROOT, env={**env, "HARNESS_REPORTS_DIR": str(reports)}, capture_output=True,
                          text=True, timeout=300)
    path = reports / "findings.json"
    return done, json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.slow
def test_workers_findings_merge_into_one_and_set_the_exit_code(tmp_path):
    """Two tests on two xdist workers see the same server-wide defect: one finding, both tests, exit code 1."""
    done, document = run_suite(tmp_path, "-n", "2", "--fault", "no_request_id")
    assert done.returncode == 1, done.stdout[-3000:]
    assert document["distinct"] == 1, document
    (finding,) = document["findings"]
    assert finding["signature"] == "header missing" and finding["reproducible"] is True
    assert len(finding["tests"]) == 2 and sorted(finding["operations"]) == ["GET /v1/invoiceitems",
                                                                             "GET /v1/invoices"]
    assert "1 distinct finding" in done.stdout and "every response has a Request-Id header" in done.stdout
