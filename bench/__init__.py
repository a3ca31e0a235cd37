"""Benchmarks for the harness and its mock server (`python -m bench [name] [options]`; see bench/README.md).

Benchmarks are measurements, not tests: they print figures and write a report under reports/, and never fail a
build on speed. `tests/test_bench.py` only checks that the code runs with tiny numbers.
"""

from __future__ import annotations

# name -> (module with a `main(argv) -> int`, one-line description)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "mock": ("bench.mock_throughput", "mock server throughput, latency, flatness and memory under wrk"),
    "robustness": ("bench.robustness", "100,000 malformed and extreme requests over every operation: 5xx, latency"),
}

__all__ = ["BENCHMARKS"]
