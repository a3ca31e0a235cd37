"""`python -m harness.report`: the report pipeline end to end, and what a person sees in a browser.

One module-scoped run (a slice of suites/test_security.py plus one deliberately failing check, with a known
fake API key) feeds every end-to-end test; the helpers get quick unit tests of their own.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness import report

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# A fake test key nobody uses: it must not appear in any file the run leaves behind.
KNOWN_KEY = "sk_test_reportpipeline" + "0123456789abcdefXYZ"
FAILING_TITLE = "Deliberate contract violation (report test)"
PASSING_TITLE = "GET /v1/invoices: no API key → 401"

FAILING_TEST = f'''
from harness.checks import CONTRACT, fail, label_test


def test_deliberate_contract_violation(api, contract):
    op = contract["ListInvoices"]
    label_test(op, "report pipeline", title="{FAILING_TITLE}")
    resp = api.get("/v1/invoices", {{"limit": 1}})
    fail(CONTRACT, op, "a deliberately failing check", "the report test needs one failure", resp)
'''

needs_allure = pytest.mark.skipif(report.allure_missing() is not None,
                                  reason=f"Allure 3 unavailable: {report.allure_missing()}")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus any HARNESS_* settings of the person running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One `harness.report run` into a temporary reports folder (its result is shared by the tests below)."""
    if report.allure_missing():
        pytest.skip(f"Allure 3 unavailable: {report.allure_missing()}")
    work = tmp_path_factory.mktemp("report")
    test_file = work / "test_deliberate_failure.py"
    test_file.write_text(FAILING_TEST)
    reports = work / "reports"
    cmd = [sys.executable, "-m", "harness.report", "run", "--reports-dir", str(reports), "--",
           "suites/test_security.py", str(test_file), "-k", "ListInvoices or deliberate",
           "-p", "harness.plugin", "--rootdir", str(ROOT), "--api-key", KNOWN_KEY, "--profile", "quick"]
    proc = subprocess.run(cmd, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=180)
    return {"proc": proc, "reports": reports, "html": reports / "html"}


@needs_allure
def test_exit_code_is_pytests_and_outputs_exist(run: dict) -> None:
    proc, reports = run["proc"], run["reports"]
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stderr[-3000:]
    assert "pytest exit code: 1" in proc.stderr
    assert (reports / "html" / "index.html").is_file()
    cases = {case.get("name"): case for case in ElementTree.parse(reports / "junit.xml").iter("testcase")}
    assert cases["test_deliberate_contract_violation"].find("failure") is not None
    assert any(name.startswith("test_missing_api_key_is_rejected_with_401") for name in cases)
    assert len((reports / "history.jsonl").read_text().splitlines()) == 1


@needs_allure
def test_known_key_is_in_no_file(run: dict) -> None:
    files = [p for p in run["reports"].rglob("*") if p.is_file()]
    assert len(files) > 20, "expected results, attachments, HTML and junit.xml"
    leaked = [str(p) for p in files if KNOWN_KEY.encode() in p.read_bytes()]
    assert not leaked
    # The safety net in harness.report found nothing to scrub: the harness redacted at the source.
    assert "scrubbed" not in run["proc"].stderr


@needs_allure
def test_failure_lands_in_its_category(run: dict) -> None:
    """reports/allurerc.mjs categories: the failure is filed under "Contract violation", in the group of its
    finding (the categories tab is the findings overview)."""
    tree = json.loads((run["html"] / "widgets" / "categories.json").read_text())
    nodes = tree["nodes"]
    names = {nodes[root]["name"]: root for root in tree["roots"]}
    assert "Contract violation" in names, names

    def leaves(node_id: str) -> list[str]:
        node = nodes[node_id]
        kids = node.get("childrenIds") or []
        return [node["name"]] if node["type"] == "tr" else [n for kid in kids for n in leaves(kid)]

    assert FAILING_TITLE in leaves(names["Contract violation"])
    groups = [nodes[kid]["name"] for kid in nodes[names["Contract violation"]]["childrenIds"]]
    # (a contract finding is keyed across operations: its group says "*", its tests name the operation)
    assert any(g.startswith("finding: [") and "*: a deliberately failing check" in g for g in groups), groups


# (status, failure message as allure-pytest records it, trace) -> the category reports/allurerc.mjs must pick
CATEGORY_CASES = {
    "Contract violation": [
        ("failed", "AssertionError: Contract violation: GET /v1/invoices: p\ndetail", ""),
        ("failed", "schemathesis.core.failures.FailureGroup: Schemathesis found 2 distinct failures\n\n"
                   "- ST901 Custom check failed: `stripe_error_shape`\n\n- ST105 Undocumented Content-Type\n", ""),
        ("failed", "schemathesis.openapi.checks.AcceptedNegativeData: API accepted schema-violating request", ""),
    ],
    "Invariant violation": [
        ("failed", "AssertionError: Invariant violation: GET /v1/invoices: walking pages ends", ""),
        ("failed", "ExceptionGroup: Hypothesis found 2 distinct failures. (2 sub-exceptions)",
         "  | AssertionError: Invariant violation: GET /v1/invoices: q"),
    ],
    "Server error (5xx)": [
        ("failed", "AssertionError: Server error (5xx): GET /v1/invoices: a client request must never cause a 5xx", ""),
        ("failed", "harness.findings.CheckFailed: Server error: GET /v1/invoices: a client request must never cause "
                   "a 5xx", ""),
        ("failed", "schemathesis.core.failures.FailureGroup: Schemathesis found 2 distinct failures\n\n"
                   "- ST101 Server error\n\n- ST105 Undocumented Content-Type\n", ""),
    ],
    "Transport error": [
        ("broken", "harness.client.TransportError: GET /v1/invoices failed after 7 attempts: ConnectionError: "
                   "refused", ""),
        ("broken", "requests.exceptions.ReadTimeout: read timed out", ""),
    ],
    "Harness error": [
        ("failed", "AssertionError: Harness error: could not create an invoice on the target", ""),
        ("broken", "KeyError: 'id'", ""),
        ("failed", "AssertionError: assert 1 == 2", ""),
    ],
}


@needs_allure
def test_categories_follow_the_failure_message(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    expected = {}
    for category, cases in CATEGORY_CASES.items():
        for n, (status, message, trace) in enumerate(cases):
            name = f"{category} #{n}"
            expected[name] = category
            uid = f"{len(expected):08d}-0000-4000-8000-000000000000"
            result = {"uuid": uid, "historyId": f"{len(expected):032x}", "name": name, "fullName": name,
                      "status": status, "statusDetails": {"message": message, "trace": trace}, "start": 1, "stop": 2,
                      "labels": [{"name": "feature", "value": "GET /v1/invoices"}]}
            (results / f"{uid}-result.json").write_text(json.dumps(result))
    assert report.generate(tmp_path / "reports", [results], single_file=False) == 0
    tree = json.loads((tmp_path / "reports" / "html" / "widgets" / "categories.json").read_text())
    nodes = tree["nodes"]

    def leaves(node_id: str) -> list[str]:
        node = nodes[node_id]
        return [node["name"]] if node["type"] == "tr" else [n for kid in node.get("childrenIds") or []
                                                            for n in leaves(kid)]

    got = {leaf: nodes[root]["name"] for root in tree["roots"] for leaf in leaves(root)}
    assert got == expected
    assert [nodes[root]["name"] for root in tree["roots"]] == list(CATEGORY_CASES)


@needs_allure
def test_coverage_matrix_and_findings_are_global_attachments(run: dict) -> None:
    globals_widget = json.loads((run["html"] / "widgets" / "globals.json").read_text())
    by_name = {a["name"]: a for a in globals_widget["attachments"]}
    assert sorted(by_name) == sorted([f"{report.COVERAGE_NAME}.md", f"{report.FINDINGS_NAME}.md"])

    def body(name: str) -> str:
        attachment = by_name[name]
        return (run["html"] / "data" / "attachments" / f"{attachment['id']}{attachment['ext']}").read_text()

    assert body(f"{report.COVERAGE_NAME}.md").startswith("# Coverage matrix")
    assert "`GET /v1/invoices`" in body(f"{report.COVERAGE_NAME}.md")
    findings = body(f"{report.FINDINGS_NAME}.md")
    assert findings.startswith("# Findings") and "a deliberately failing check" in findings
    assert "test_deliberate_contract_violation" in findings


# -- in a browser ----------------------------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep request logs out of the test output."""


@pytest.fixture(scope="module")
def served(run: dict) -> Iterator[str]:
    """The report over loopback HTTP: the multi-file report loads its data with fetch, which file:// blocks."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(run["html"])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def chromium(tmp_path: Path, url: str, *args: str) -> str:
    """Headless Chromium, isolated (fresh profile, no background traffic); returns stdout."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--virtual-time-budget=10000", *args, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def failed_test_id(html: Path) -> str:
    for path in (html / "data" / "test-results").glob("*.json"):
        result = json.loads(path.read_text())
        if result["status"] == "failed":
            return result["id"]
    raise AssertionError("no failed test in the report")


needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason=f"{CHROMIUM} is missing (apt-get install chromium)")


@needs_allure
@needs_chromium
def test_browser_shows_the_run(run: dict, served: str, tmp_path: Path) -> None:
    overview = chromium(tmp_path, served, "--dump-dom")
    assert "Stripe contract harness" in overview
    assert "Global Attachments" in overview
    assert "failed" in overview.lower()

    failing = chromium(tmp_path, f"{served}#/{failed_test_id(run['html'])}", "--dump-dom")
    assert FAILING_TITLE in failing
    assert "Contract violation" in failing
    assert "failed" in failing.lower()
    assert KNOWN_KEY not in overview + failing

    categories = chromium(tmp_path, f"{served}#/categories", "--dump-dom")
    assert "Contract violation" in categories


@needs_allure
@needs_chromium
def test_screenshot_of_the_failing_test(run: dict, served: str, tmp_path: Path) -> None:
    """A picture of what a person sees; kept in reports/screenshots/ when HARNESS_KEEP_SCREENSHOTS=1."""
    shot = tmp_path / "failing-test.png"
    chromium(tmp_path, f"{served}#/{failed_test_id(run['html'])}", f"--screenshot={shot}", "--window-size=1400,1000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if os.environ.get("HARNESS_KEEP_SCREENSHOTS") == "1":
        keep = ROOT / "reports" / "screenshots"
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / shot.name)


# -- helpers ---------------------------------------------------------------------------------------------------


def test_suites_is_the_default_target() -> None:
    assert report.pytest_command(Path("r"), Path("j.xml"), ["-k", "x", "-n", "2"])[3] == "suites"
    assert "suites" not in report.pytest_command(Path("r"), Path("j.xml"), ["suites/test_security.py", "-q"])
    # Values of path-valued options are not tests to run.
    args = ["--splits", "2", "--group", "1", "--durations-path", ".test_durations", "--rootdir", str(ROOT)]
    assert not report.has_test_paths(args)
    assert report.has_test_paths(["suites/test_security.py::test_missing_api_key_is_rejected_with_401"])


def test_secrets_come_from_options_and_environment() -> None:
    args = ["--api-key", "sk_test_aaaaaaaaaa", "--second-api-key=sk_test_bbbbbbbbbb", "-k", "x"]
    env = {"HARNESS_API_KEY": "sk_test_cccccccccc", "HARNESS_OTHER": "sk_test_dddddddddd"}
    assert report.secrets_in(args, env) == {"sk_test_aaaaaaaaaa", "sk_test_bbbbbbbbbb", "sk_test_cccccccccc"}


def test_scrub_leaks_redacts_and_names_the_files(tmp_path: Path) -> None:
    leaky = tmp_path / "results" / "x-result.json"
    leaky.parent.mkdir()
    leaky.write_text(json.dumps({"trace": f"target = Target(api_key='{KNOWN_KEY}')"}))
    clean = tmp_path / "results" / "y-result.json"
    clean.write_text("{}")
    assert report.scrub_leaks([tmp_path / "results"], {KNOWN_KEY}) == [leaky]
    assert KNOWN_KEY not in leaky.read_text() and "sk_test_" in leaky.read_text()
    json.loads(leaky.read_text())  # still valid JSON


def test_exit_code_is_pytests_when_allure_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    test_file = tmp_path / "test_one.py"
    test_file.write_text("def test_fails():\n    assert 1 == 2\n")
    monkeypatch.setattr(report, "ALLURE_BIN", tmp_path / "no-allure")
    code = report.main(["run", "--reports-dir", str(tmp_path / "reports"), "--", str(test_file), "-q",
                        "-p", "no:cacheprovider"])
    assert code == pytest.ExitCode.TESTS_FAILED
    err = capfd.readouterr().err  # capfd: also swallows the child pytest's output
    assert "no HTML report" in err and "npm ci" in err
    assert (tmp_path / "reports" / "junit.xml").is_file()
    assert any((tmp_path / "reports" / "allure-results").glob("*-result.json"))


def test_a_usage_error_keeps_the_last_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports"
    for name, text in ((report.RESULTS, None), (report.HTML, None), (report.JUNIT, "<testsuites/>")):
        if text is None:
            (reports / name).mkdir(parents=True)
            (reports / name / "kept.json").write_text("{}")
        else:
            (reports / name).write_text(text)
    monkeypatch.setattr(report, "ALLURE_BIN", tmp_path / "no-allure")
    code = report.main(["run", "--reports-dir", str(reports), "--", str(tmp_path), "--no-such-option",
                        "-p", "no:cacheprovider"])
    assert code == pytest.ExitCode.USAGE_ERROR
    assert "is unchanged" in capfd.readouterr().err
    assert (reports / report.RESULTS / "kept.json").is_file() and (reports / report.HTML / "kept.json").is_file()
    assert (reports / report.JUNIT).read_text() == "<testsuites/>"
    assert not (reports / report.PREVIOUS).exists()


def test_run_suites_refuses_a_worker_count_that_is_not_one_before_installing_anything() -> None:
    env = {**clean_env(), "HARNESS_WORKERS": "abc"}
    proc = subprocess.run([str(ROOT / "run"), "suites", "--collect-only"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("run: HARNESS_WORKERS takes a whole number of pytest-xdist workers, or auto "
                                   "(got 'abc')")


def test_run_writes_bytecode_into_the_venv_when_the_environment_forbids_it(tmp_path: Path) -> None:
    """Under PYTHONDONTWRITEBYTECODE every pytest process would rewrite ~370 plugin modules again (~2 CPU s each);
    `./run` has them cached, inside the venv rather than beside the sources."""
    probe = tmp_path / "test_probe.py"
    probe.write_text("import sys\n\ndef test_probe():\n"
                     "    print('PROBE', sys.flags.dont_write_bytecode, sys.pycache_prefix)\n")
    env = {k: v for k, v in clean_env(PYTHONDONTWRITEBYTECODE="1").items() if k != "PYTHONPYCACHEPREFIX"}
    proc = subprocess.run([str(ROOT / "run"), "tests", str(probe), "-q", "-s", "-p", "no:xdist"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("PROBE"))
    assert line == f"PROBE 0 {ROOT / '.venv' / 'pycache'}"
