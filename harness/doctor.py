"""A target check before a run: can the harness usefully test this server, and with what?

    python -m harness.doctor --base-url URL --api-key KEY [--stripe-account acct_...] [--harness-config FILE]
                             [--max-rps 20] [--no-create] [--allow-live]
    ./run doctor ...                                   (the same)

Answers, in seconds:
- whether the target is reachable, accepts the key, and the key is a test-mode key;
- which of the 50 operations and which supporting endpoints and test helpers answer, by the suites' own
  capability discovery (`harness.discovery`: one harmless probe per operation that validation must refuse, so
  nothing is created or changed);
- which objects the harness can create there (by building each with the world's recipes, tagged with a doctor run
  id and cleaned up afterwards), and for the missing ones the `--harness-config` key that names an existing one;
- the rate it measured while probing (sequential requests per second, latency, 429s).

Exit status: 0 when the harness can run, 1 when it cannot usefully run (the last line says why), 2 for bad input
or an unreachable target / refused key (one line, no traceback).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contracts.loader import load_contract
from harness import findings, harness_config
from harness.cleanup import clean_up
from harness.client import ApiClient, Exchange
from harness.discovery import Capability, Status, discover
from harness.pacing import DEFAULT_EXTERNAL_RPS, LimitError, Limits, SharedLimiter, parse_rate
from harness.preflight import PreflightError, check_account, check_base_url, check_key, key_mode, probe
from harness.runinfo import RunLedger, new_run_id
from harness.world import RECIPES, Unavailable, World

# Objects without which hardly any suite can run: the doctor fails when it can get none of these.
ESSENTIAL = ("customer", "invoice:draft")


@dataclass
class Report:
    """What the doctor found on a target, printed by `main`."""

    capabilities: dict[str, Capability] = field(default_factory=dict)  # operationId -> what its probe found
    objects: dict[str, str] = field(default_factory=dict)  # world kind -> "created ..." | "found ..." | "missing ..."
    durations: list[float] = field(default_factory=list)  # seconds per HTTP exchange (pacing waits excluded)
    throttled: int = 0
    cleanup: list[str] = field(default_factory=list)


def creatable(world: World, kinds: list[str]) -> dict[str, str]:
    """For each world kind: "created (recipe)" when a recipe works here, "found: ..." (named in --harness-config,
    or an existing one listed), or "missing: ..." with the --harness-config key that names one."""
    out: dict[str, str] = {}
    for kind in kinds:
        key = World.config_key(kind)
        try:
            world.make(kind)
            out[kind] = f"created ({world.recipe_in_use(kind)})"
            continue
        except Unavailable:
            pass  # the world's fallbacks come next
        except pytest.skip.Exception as exc:  # an object this one is built from is missing
            out[kind] = f"missing: {exc.msg}"
            continue
        except Exception as exc:  # a failed invariant or a transport error: this kind cannot be made here
            out[kind] = f"missing: {str(exc).splitlines()[0][:160]}; name one in --harness-config as \"{key}\""
            continue
        try:
            obj = world.fresh(kind)
        except pytest.skip.Exception as exc:
            out[kind] = f"missing: {exc.msg}"
            continue
        named = not obj.get("object")
        out[kind] = f"found: named in --harness-config as \"{key}\"" if named else "found: an existing one (listed)"
    return out


def run(api: ApiClient, config: dict, create: bool, ledger: RunLedger, report: Report) -> Report:
    """Probe every operation (capability discovery), then (with `create`) build one object of each kind and
    clean up what that created."""
    contract = load_contract()
    capabilities = discover(api, contract)
    report.capabilities = capabilities.results
    if create:
        world = World(api, config, capabilities, contract, run_id=ledger.run_id)
        report.objects = creatable(world, sorted(RECIPES))
        pairs = [(kind, object_id) for object_id, kind in ledger.created.items()]
        cleaned = clean_up(api, pairs, ledger.run_id)
        report.cleanup = [f"clean-up: {len(cleaned.cleaned)} of {len(pairs)} objects it created needed clean-up",
                          *cleaned.errors]
    return report


def render(report: Report, base_url: str, key: str, rtt: float, out: Callable[[str], None]) -> list[str]:
    """Print the report; return the reasons the harness cannot usefully run (empty when it can)."""
    problems: list[str] = []
    mode = key_mode(key)
    out(f"target: {base_url} (reachable, key accepted, first answer in {rtt * 1000:.0f} ms)")
    out(f"key mode: {mode}" + ("" if mode == "test" else " (the harness is meant for test-mode keys)"))
    seed = [c for c in report.capabilities.values() if not c.support]
    support = [c for c in report.capabilities.values() if c.support]
    answering = [c for c in seed if c.available]
    out(f"\noperations: {len(answering)} of {len(seed)} answer")
    for c in seed:
        if c.status is not Status.IMPLEMENTED:
            out(f"  {c.status:16} {c.operation_id:46} {c.label}  ({c.answer})")
    out(f"supporting endpoints and test helpers: {sum(c.available for c in support)} of {len(support)}")
    for c in support:
        out(f"  {c.status:16} {c.operation_id:46} {c.label}"
            + (f"  ({c.answer})" if c.status is not Status.IMPLEMENTED else ""))
    if report.objects:
        out("\nobjects the harness needs:")
        for kind, how in report.objects.items():
            out(f"  {kind:38} {how}")
        for line in report.cleanup:
            out(f"  {line}")
    if report.durations:
        median = statistics.median(report.durations)
        slowest = max(report.durations)
        out(f"\nmeasured: {len(report.durations)} requests, median latency {median * 1000:.0f} ms (slowest "
            f"{slowest * 1000:.0f} ms): one worker sends at most about {1 / max(median, 1e-3):.0f} requests/s; "
            f"429 answers: {report.throttled}")
    if not answering:
        problems.append("none of the 50 operations answers: is --base-url the API's root (without /v1)?")
    missing = [k for k in ESSENTIAL
               if report.objects and not report.objects.get(k, "").startswith(("created", "found"))]
    if missing:
        problems.append(f"cannot get {', '.join(missing)}: almost every suite needs them")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.doctor`` (options in the module docstring; `argv` None: ``sys.argv``). Returns the exit
    code: 0 ready, 1 the harness cannot usefully run (the last line says why), 2 bad input."""
    parser = argparse.ArgumentParser(prog="python -m harness.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("HARNESS_BASE_URL"))
    parser.add_argument("--api-key", default=os.environ.get("HARNESS_API_KEY"))
    parser.add_argument("--stripe-account", default=os.environ.get("HARNESS_STRIPE_ACCOUNT"))
    parser.add_argument("--harness-config", default=os.environ.get("HARNESS_CONFIG"),
                        help="JSON file naming existing objects (as the suites take it)")
    parser.add_argument("--max-rps", default=os.environ.get("HARNESS_MAX_RPS", str(DEFAULT_EXTERNAL_RPS)))
    parser.add_argument("--no-create", action="store_true", help="only probe; create (and clean up) nothing")
    parser.add_argument("--allow-live", action="store_true", default=os.environ.get("HARNESS_ALLOW_LIVE") == "1")
    args = parser.parse_args(argv)
    try:
        if not args.base_url:
            raise PreflightError("--base-url is needed (or HARNESS_BASE_URL)")
        base_url = check_base_url(args.base_url)
        key = check_key(args.api_key, "--api-key", args.allow_live)
        account = check_account(args.stripe_account)
        rate = parse_rate(args.max_rps)
        config = _config(args.harness_config)
        # The API version the suites pin (response shapes depend on it), and the connected account if any.
        headers = {"Stripe-Version": load_contract().stripe_version, **({"Stripe-Account": account} if account else {})}
        reach = probe(base_url, key, headers)
    except (PreflightError, LimitError) as exc:
        print(f"harness.doctor: {exc}", file=sys.stderr)
        return 2
    ledger = RunLedger(f"doctor-{new_run_id()[4:]}")

    report = Report()

    def on_exchange(ex: Exchange) -> None:
        ledger.record(ex.method, ex.path, ex.status, ex.body)
        report.durations.append(ex.duration_ms / 1000)
        report.throttled += ex.status == 429

    with ApiClient(base_url, key, default_headers=headers, on_exchange=on_exchange, max_retries=3) as api:
        if rate is not None:
            limiter = SharedLimiter(SharedLimiter.create(Path(tempfile.mkdtemp()) / "limits"), Limits(rate))
            api.gate(limiter.acquire)
        with findings.collecting():  # the doctor reports what it found itself; nothing joins a run's findings
            run(api, config, not args.no_create, ledger, report)
    problems = render(report, base_url, key, reach.seconds, print)
    if account:
        print(f"connected account: {account} (Stripe-Account on every request)")
    print(f"pace used: {args.max_rps} requests/s (--max-rps)")
    if problems:
        print(f"\nthe harness cannot usefully run against {base_url}: {'; '.join(problems)}")
        return 1
    print(f"\nready: ./run suites --base-url {base_url} (add --max-rps, --max-requests; see README)")
    return 0


def _config(path: str | None) -> dict:
    try:
        return harness_config.read(path)
    except harness_config.HarnessConfigError as exc:
        raise PreflightError(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())
