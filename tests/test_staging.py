"""Pace, budget, run tagging and clean-up, measured on real pytest runs with two xdist workers (issue: testing a
shared staging server)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness import staging
from harness.cleanup import clean_up, find_tagged
from harness.client import ApiClient
from harness.pacing import LimitError, parse_budget, parse_rate
from harness.preflight import PreflightError, check_account, check_base_url, check_key
from harness.runinfo import TAG_KEY
from harness.target import Target, start_embedded_mock

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "data" / "staging_probe.py"


@pytest.fixture
def mock() -> Iterator[Target]:
    """A mock that outlives the run under test, so the test can look at what the run left on it."""
    with start_embedded_mock(label="staging") as target:
        yield target


def run_pytest(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 240) -> subprocess.CompletedProcess:
    out = tmp_path / "probe-out"
    out.mkdir(exist_ok=True)
    full_env = {**os.environ, "HARNESS_REPORTS_DIR": str(tmp_path / "reports"), "PROBE_OUT": str(out),
                **(env or {})}
    for name in ("HARNESS_BASE_URL", "HARNESS_API_KEY", "HARNESS_MAX_RPS", "HARNESS_MAX_REQUESTS", "HARNESS_RUN_ID"):
        if name not in (env or {}):
            full_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", "-q", *args], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def stamps(tmp_path: Path) -> dict[str, list[float]]:
    return {p.stem: json.loads(p.read_text()) for p in (tmp_path / "probe-out").glob("*.json")}


def test_pace_holds_within_10_percent_across_two_workers(tmp_path):
    """--max-rps 20 for the whole run: while both workers send, together they send 20 requests/s (±10 %)."""
    result = run_pytest(tmp_path, str(PROBE), "-n", "2", "--dist", "each", "--max-rps", "20",
                        env={"PROBE_SECONDS": "10"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    by_worker = stamps(tmp_path)
    assert len(by_worker) == 2, by_worker.keys()
    start = max(times[0] for times in by_worker.values())
    end = min(times[-1] for times in by_worker.values())
    assert end - start > 7, f"the workers overlapped only {end - start:.1f} s"
    in_window = [t for times in by_worker.values() for t in times if start <= t <= end]
    rate = (len(in_window) - 1) / (end - start)
    assert abs(rate - 20) <= 2, f"{rate:.2f} requests/s over {end - start:.1f} s with both workers sending"
    for worker, times in by_worker.items():  # the bucket is shared, not one worker's alone
        share = sum(start <= t <= end for t in times) / len(in_window)
        assert 0.3 < share < 0.7, f"{worker} sent {share:.0%} of the requests"
    assert "pace: 20 requests/s (set by --max-rps)" in result.stdout


def test_budget_is_never_exceeded_and_the_rest_skip(tmp_path, mock):
    """--max-requests 60: the server sees at most 60 requests; the tests end as skips that say why."""
    result = run_pytest(tmp_path, str(PROBE), "-n", "2", "--dist", "each", "--base-url", mock.base_url,
                        "--api-key", mock.api_key, "--max-requests", "60", "--max-rps", "unlimited", "-rs",
                        "--run-id", "run-budget-test", "--alluredir", str(tmp_path / "allure"),
                        env={"PROBE_SECONDS": "60", "PROBE_MODE": "create"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    listed = requests.get(f"{mock.base_url}/v1/customers", params={"limit": 100},
                          headers={"Authorization": f"Bearer {mock.api_key}"}, timeout=10).json()["data"]
    assert 0 < len(listed) <= 60 + 2, f"{len(listed)} customers created with a budget of 60 requests"
    assert len(listed) <= 60, "the shared counter reserves before sending: not even in-flight requests go over"
    assert result.stdout.count("request budget spent") >= 2, result.stdout[-3000:]
    assert "budget: 60 requests, spent" in result.stdout
    panel = dict(line.split("=", 1) for line in (tmp_path / "allure" / "environment.properties").read_text()
                 .splitlines())
    assert panel["target"] == mock.base_url and panel["run_id"] == "run-budget-test"
    assert panel["budget"] == "60 requests" and panel["pace"].startswith("unlimited")
    assert panel["stripe_account"].startswith("none") and panel["stripe_version"]
    assert mock.api_key not in (tmp_path / "allure" / "environment.properties").read_text()


@pytest.mark.parametrize(("check", "value", "message"), [
    (parse_rate, "-1", "--max-rps must be a positive number"),
    (parse_rate, "0", "--max-rps must be a positive number"),
    (parse_rate, "nan", "--max-rps must be a positive number"),
    (parse_rate, "fast", "--max-rps takes a number"),
    (parse_budget, "0", "--max-requests must be at least 1"),
    (parse_budget, "1.5", "--max-requests takes a whole number"),
    (check_base_url, "staging.example.com", "is not a usable URL"),
    (check_base_url, "http://host:99999", "is not a usable URL"),
    (check_base_url, "https://host/?x=1", "has a query or fragment"),
    (check_account, "acme", "is not an account ID"),
    (lambda key: check_key(key, "--api-key", allow_live=False), "sk_live_abc", "looks like a live-mode key"),
])
def test_bad_settings_are_refused_with_what_to_do(check, value, message):
    with pytest.raises((LimitError, PreflightError), match=re.escape(message)):
        check(value)


def test_good_settings_pass():
    assert parse_rate("unlimited") is None and parse_rate("2.5") == 2.5 and parse_budget("10") == 10
    assert check_base_url("https://staging.example.com/") == "https://staging.example.com"
    assert check_account("acct_1Abc") == "acct_1Abc" and check_account(None) is None


@pytest.mark.parametrize(("args", "message"), [
    (["--max-rps", "-1"], "--max-rps must be a positive number"),
    (["--base-url", "http://127.0.0.1:9", "--api-key", "sk_test_x"], "cannot reach http://127.0.0.1:9"),
])
def test_bad_input_on_the_command_line_gets_one_clear_line(tmp_path, args, message):
    result = run_pytest(tmp_path, str(PROBE), *args, timeout=60)
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_wrong_key_is_refused_before_any_test(tmp_path, mock):
    result = run_pytest(tmp_path, str(PROBE), "--base-url", mock.base_url, "--api-key", "sk_test_", timeout=60)
    assert result.returncode == 4
    assert "refused the API key (401" in result.stderr and "Traceback" not in result.stderr


def _leftovers(mock: Target, run_id: str) -> tuple[set[tuple[str, str]], list[str]]:
    """The run's tagged objects on the mock, and those still in a state clean-up acts on (draft, open, ...)."""
    with ApiClient(mock.base_url, mock.api_key) as api:
        notes: list[str] = []
        tagged = find_tagged(api, run_id, notes)
        live = clean_up(api, tagged, run_id, require_tag=True, dry_run=True).cleaned
    return tagged, live


def _foreign_drafts(mock: Target) -> list[str]:
    """Two draft invoices the run did not create: one untagged, one tagged by another run."""
    with ApiClient(mock.base_url, mock.api_key) as api:
        customer = api.post("/v1/customers", {"name": "not the harness"}).json["id"]
        return [api.post("/v1/invoices", {"customer": customer, **extra}).json["id"]
                for extra in ({}, {"metadata": {TAG_KEY: "run-someone-else"}})]


CLEANUP_RUN = ["suites/test_conformance.py", "-k", "valid and (Invoice or Template or IdentityVerificationSession)",
               "--profile", "quick", "-n", "2", "--max-rps", "unlimited"]


@pytest.mark.parametrize("keep", [False, True], ids=["clean-up", "keep-objects"])
def test_clean_up_leaves_nothing_of_the_run_and_never_touches_other_objects(tmp_path, mock, keep):
    foreign = _foreign_drafts(mock)
    run_id = f"run-test-{'keep' if keep else 'clean'}"
    result = run_pytest(tmp_path, *CLEANUP_RUN, "--base-url", mock.base_url, "--api-key", mock.api_key,
                        "--run-id", run_id, *(["--keep-objects"] if keep else []), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tagged, live = _leftovers(mock, run_id)
    assert tagged, "the run tags what it creates"
    if keep:
        assert len(live) > 10, f"--keep-objects left only {live}"
        assert "clean-up: skipped (--keep-objects)" in result.stdout
        # Later, the command finds them by their tag and cleans them up.
        later = subprocess.run([sys.executable, "-m", "harness.cleanup", "--base-url", mock.base_url, "--api-key",
                                mock.api_key, "--run-id", run_id, "--max-rps", "unlimited"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
        assert later.returncode == 0, later.stdout[-2000:] + later.stderr[-2000:]
        assert f"{len(live)} cleaned up" in later.stdout, later.stdout[-2000:]
        assert _leftovers(mock, run_id)[1] == []
    else:
        assert live == [], f"left behind: {live}"
        assert "objects cleaned up of" in result.stdout
    with ApiClient(mock.base_url, mock.api_key) as api:
        for invoice in foreign:
            assert api.get(f"/v1/invoices/{invoice}").json["status"] == "draft", "clean-up touched another's object"


def test_a_connected_account_run_checks_isolation_against_the_platform(tmp_path, mock):
    """--stripe-account without a second key: every request carries Stripe-Account, and the isolation checks use
    the platform account itself (the same key without the header), which must not see the connected objects."""
    result = run_pytest(tmp_path, "suites/test_security.py", "-k", "other_account and (Invoice or Template)",
                        "--profile", "quick", "--base-url", mock.base_url, "--api-key", mock.api_key,
                        "--stripe-account", "acct_1StagingTest", "--max-rps", "unlimited", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout.splitlines()[-1]
    assert "connected account: acct_1StagingTest" in result.stdout
    with ApiClient(mock.base_url, mock.api_key) as platform:
        assert platform.get("/v1/invoices", {"limit": 1}).json["data"] == [], "the run acted for the platform"
    with ApiClient(mock.base_url, mock.api_key, default_headers={"Stripe-Account": "acct_1StagingTest"}) as acct:
        assert acct.get("/v1/invoices", {"limit": 1}).json["data"], "the run did not act for the connected account"


def test_clearing_the_parts_tolerates_a_file_another_process_removed(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Several pytest processes can share a reports folder (the tests start `pytest suites --collect-only` side by
    side): each clears `run-parts/` at its start, and a file one of them listed may be gone when it unlinks it."""
    folder = tmp_path / "run-parts"
    folder.mkdir()
    (folder / "main.json").write_text("{}")
    listed = Path.glob

    def listed_then_removed_elsewhere(self: Path, pattern: str) -> Iterator[Path]:
        found = list(listed(self, pattern))
        for path in found:
            path.unlink()
        return iter(found)

    monkeypatch.setattr(Path, "glob", listed_then_removed_elsewhere)
    staging.clear_parts(tmp_path)
    assert not any(folder.iterdir())
