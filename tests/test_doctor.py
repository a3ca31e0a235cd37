"""`python -m harness.doctor`: its answers on the mock, on a mock with operations disabled, and on bad input."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from harness import doctor
from harness.target import Target, start_embedded_mock

NO_TEMPLATES_OR_CARDS = ("TestHelperCreateInvoiceRenderingTemplate", "ListInvoiceRenderingTemplates",
                         "CreateIssuingCardholder", "CreateIssuingCard", "ListForwardingRequests")
NO_CUSTOMERS = ("CreateCustomer", "ListCustomers", "CreateInvoice")


@pytest.fixture
def mock(request: pytest.FixtureRequest) -> Iterator[Target]:
    with start_embedded_mock(label="doctor", disabled=getattr(request, "param", ())) as target:
        yield target


def run_doctor(target: Target, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = doctor.main(["--base-url", target.base_url, "--api-key", target.api_key, "--max-rps", "unlimited",
                        *extra])
    return code, capsys.readouterr().out


def test_on_the_mock_everything_answers_and_every_object_can_be_made(mock, capsys):
    code, out = run_doctor(mock, capsys)
    assert code == 0, out
    assert "reachable, key accepted" in out and "key mode: test" in out
    assert "operations: 50 of 50 answer" in out
    assert "missing" not in out and "not implemented" not in out, out
    for kind in ("customer", "invoice:open", "issuing.authorization", "invoice_rendering_template:active",
                 "identity.verification_report"):
        assert any(line.split()[:2] == [kind, "created"] for line in out.splitlines()), (kind, out)
    assert "measured:" in out and "429 answers: 0" in out
    assert "ready:" in out


@pytest.mark.parametrize("mock", [NO_TEMPLATES_OR_CARDS], indirect=True)
def test_disabled_operations_and_helpers_are_named_with_the_config_key_to_use(mock, capsys):
    code, out = run_doctor(mock, capsys)
    assert code == 0, out  # the harness can still run: what is missing is skipped with a reason
    assert "operations: 48 of 50 answer" in out
    for op_id in NO_TEMPLATES_OR_CARDS:
        assert any(line.split()[:3] == ["not", "implemented", op_id] for line in out.splitlines()), (op_id, out)
    template = next(line for line in out.splitlines() if line.split()[:1] == ["invoice_rendering_template:active"])
    assert "missing" in template and '--harness-config as "invoice_rendering_template"' in template
    # Without cardholders and cards, the authorization comes from the mock-only shape of the helper.
    assert any(line.split()[:2] == ["issuing.authorization", "created"] for line in out.splitlines()), out


@pytest.mark.parametrize("mock", [NO_CUSTOMERS], indirect=True)
def test_a_target_without_customers_or_invoices_cannot_usefully_run(mock, capsys):
    code, out = run_doctor(mock, capsys, "--no-create")
    assert "operations: 49 of 50 answer" in out
    assert code == 0, "with --no-create nothing says the harness cannot run"
    code, out = run_doctor(mock, capsys)
    assert code == 1
    assert out.strip().splitlines()[-1].startswith("the harness cannot usefully run against")
    assert "cannot get customer, invoice:draft" in out


def test_a_wrong_key_and_an_unreachable_target_get_one_line(mock):
    for args, message in ((["--base-url", mock.base_url, "--api-key", "sk_test_"], "refused the API key (401"),
                          (["--base-url", "http://127.0.0.1:9", "--api-key", "sk_test_x"], "cannot reach"),
                          (["--base-url", "localhost:80", "--api-key", "sk_test_x"], "is not a usable URL"),
                          (["--base-url", mock.base_url, "--api-key", "sk_live_x"], "looks like a live-mode key")):
        result = subprocess.run([sys.executable, "-m", "harness.doctor", *args], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
