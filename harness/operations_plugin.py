"""The pytest side of capability discovery: ``--operations`` / ``--skip-operations``, the session's probe, and
skipping the tests of operations the target does not implement.

- Tests parametrized by ``operation_id`` are deselected when their operation is left out of the run, and skip at
  setup when the target does not implement it.
- Any other test that sends a request to an unavailable operation skips at that request, with the same reason
  (the suites' client reports every exchange to `observe_exchange`).
- Each xdist worker probes its own target once (about 60 cheap requests) and writes its results to
  ``capabilities-parts/``; the controller merges them into ``capabilities.json`` and the terminal summary says how
  many of the 50 operations the target implements.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from contracts.loader import load_contract
from harness import staging
from harness.client import ApiClient, Exchange
from harness.discovery import Capabilities, OperationSelection, discover, summary_lines
from harness.parts import clear_json

_capabilities: Capabilities | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness")
    group.addoption("--operations", default=os.environ.get("HARNESS_OPERATIONS"),
                    help="test only these operations: comma-separated patterns matching an operation ID "
                         "(CreateInvoice), label ('POST /v1/invoices') or tag (Invoices); shell wildcards "
                         "allowed, e.g. 'Invoices,*InvoiceItem*' [HARNESS_OPERATIONS]")
    group.addoption("--skip-operations", default=os.environ.get("HARNESS_SKIP_OPERATIONS"),
                    help="leave these operations out of the run (same patterns as --operations) "
                         "[HARNESS_SKIP_OPERATIONS]")


def selection(config: pytest.Config) -> OperationSelection:
    return OperationSelection.parse(config.getoption("--operations"), config.getoption("--skip-operations"))


def pytest_configure(config: pytest.Config) -> None:
    unknown = selection(config).unknown_patterns(load_contract())
    if unknown:
        raise pytest.UsageError(f"--operations/--skip-operations: {', '.join(map(repr, unknown))} match no "
                                "operation of the contract (use an operation ID such as CreateInvoice, a label "
                                "such as 'POST /v1/invoices', or a tag such as Invoices)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = selection(config)
    if not (chosen.include or chosen.exclude):
        return
    contract = load_contract()
    keep, drop = [], []
    for item in items:
        op_id = getattr(getattr(item, "callspec", None), "params", {}).get("operation_id")
        if op_id in contract.operations and not chosen.selects(contract[op_id]):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _parts_dir() -> Path:
    from harness.plugin import _reports_dir

    return _reports_dir() / "capabilities-parts"


@pytest.fixture(scope="session")
def capabilities(request: pytest.FixtureRequest, target, contract) -> Iterator[Capabilities]:
    """What the target implements, probed once per session (per xdist worker) before any test request."""
    global _capabilities
    # The probes go out side by side (`--concurrency` at once), unless the run is paced (--max-rps).
    paced = staging.paced()
    client = ApiClient(target.base_url, target.api_key, backoff=0.05, max_backoff=2.0, max_retries=6,
                       concurrency=1 if paced else int(request.config.getoption("--concurrency")))
    try:
        _capabilities = discover(client, contract, selection(request.config))
    finally:
        client.close()
    yield _capabilities
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    _capabilities.save(_parts_dir() / f"{worker}.json")
    _capabilities = None


@pytest.fixture(autouse=True)
def _skip_unavailable_operation(request: pytest.FixtureRequest) -> None:
    """Tests against the target (those using `api`) skip when their operation is unavailable."""
    if "api" not in request.fixturenames:
        return
    caps: Capabilities = request.getfixturevalue("capabilities")
    callspec = getattr(request.node, "callspec", None)
    op_id = callspec.params.get("operation_id") if callspec else None
    reason = caps.unavailable_reason(op_id) if op_id else None
    if reason:
        pytest.skip(reason)


def observe_exchange(ex: Exchange) -> None:
    """Called for every exchange of the suites' clients: skip the test if it used an unavailable operation."""
    caps = _capabilities
    if caps is None or not caps.needs_watching:
        return
    reason = caps.observe(load_contract(), ex)
    if reason:
        pytest.skip(reason)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        folder = _parts_dir()
        if folder.exists():
            clear_json(folder)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    folder = _parts_dir()
    merged = Capabilities.merge(sorted(folder.glob("*.json"))) if folder.exists() else {}
    if not merged:
        return
    terminalreporter.section("Capabilities")
    for line in summary_lines(merged):
        for part in textwrap.wrap(line, 100, subsequent_indent="    ", break_long_words=False):
            terminalreporter.write_line(part)
    out = folder.parent / "capabilities.json"
    rows = [{**asdict(c), "status": c.status.value} for c in merged.values()]
    out.write_text(json.dumps(rows, indent=1))
    terminalreporter.write_line(f"(also written to {out})")
