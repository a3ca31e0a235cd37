"""Smoke tests for bench/: the benchmark code runs with tiny numbers and produces figures.

Nothing here asserts on speed: a benchmark measures, it does not pass or fail a build.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import mock_throughput as mt

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| (\d) \| ([^|]+) \| ([^|]*) \| ([^|]*) \| ([^|]*) \| ([^|]*) \| ([^|]*) \|")


@pytest.mark.slow
def test_quick_mock_bench_prints_and_writes_a_table(tmp_path: Path) -> None:
    report = tmp_path / "bench-mock.md"
    done = subprocess.run([sys.executable, "-m", "bench", "mock", "--quick", "--no-install", "--report", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    assert text in done.stdout, "the table printed is the table written"
    assert "load generator: " in text
    rows = [m.groups() for line in text.splitlines() if (m := ROW.match(line))]
    assert {r[0] for r in rows} == {"1", "2", "3", "4", "5"}
    measured = [r for r in rows if r[3].strip()]
    assert len(measured) == 3 + 2 * 3, "scenarios 1-3 and list/retrieve at three sizes"
    for row in measured:
        assert float(row[3].replace(",", "")) > 0, row  # some requests were answered (no speed asserted)
        assert row[6].strip() == "0", f"requests failed (non-2xx or socket errors): {row}"
    assert re.search(r"\| \d+ MB \(seeded \d+", text), "the memory figure"


def test_asyncio_load_generator_drives_every_scenario(tmp_path: Path) -> None:
    mock = mt.start_mock(5, tmp_path)
    try:
        settings = mt.Settings(connections=2)
        for scenario in mt.scenarios(mock.customer).values():
            result = mt.run_asyncio(mock.port, scenario, mock.ids_file, settings, 0.2)
            assert result.requests > 0 and result.failed == 0, (scenario.name, result)
            assert result.p99_ms >= result.p50_ms > 0
    finally:
        mock.stop()


def test_wrk_script_sets_method_body_auth_and_a_request_cap(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    create = mt.scenarios("cus_123")["create"]
    script = mt.wrk_script(create, ids, 500)
    assert 'wrk.method = "POST"' in script and "customer=cus_123&amount=100&currency=usd" in script
    assert mt.AUTH in script and "local max_requests = 500" in script and "BENCH_RESULT" in script
    retrieve = mt.wrk_script(mt.scenarios("cus_123")["retrieve"], ids, 500)
    assert str(ids) in retrieve and "math.random(#ids)" in retrieve


def test_robustness_bench_runs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import robustness

    report = tmp_path / "bench-robustness.md"
    status = robustness.main(["--requests", "400", "--report", str(report)])
    text = report.read_text()
    assert text in capsys.readouterr().out
    assert status == 0, text  # no 5xx, every answer Stripe-shaped
    assert "400 requests over" in text and "5xx: 0" in text
    assert {line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")} >= set(
        robustness.CLASSES)
