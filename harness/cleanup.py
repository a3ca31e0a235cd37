"""Best-effort clean-up of what one run created, and only that.

    python -m harness.cleanup --base-url URL --run-id ID [--api-key KEY] [--stripe-account acct_...]
                              [--ledger reports/run-parts] [--max-rps 20] [--dry-run]

At the end of a session each worker cleans up the objects its ledger recorded (it saw the API create them). Later,
this command finds a run's objects by their tag, `metadata[harness_run]=ID`, through search (invoices) and the list
endpoints, plus any IDs the run's ledger files name, and cleans them up the same way.

What clean-up means per object follows Stripe's documented lifecycles: a draft invoice is deleted (only drafts can
be), an open invoice is voided (it cannot be deleted), a pending invoice item is deleted, an active rendering
template is archived, a verification session that requires input is canceled, an active Issuing card is canceled
and an active cardholder made inactive. Paid, void and other final objects are left as they are.

An object is touched only when the run created it: it carries this run's tag, or this run's ledger recorded its
creation. Every object is read again just before acting, so its current state decides. Errors are collected and
reported, never raised.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.loader import load_contract
from harness.client import ApiClient, TransportError
from harness.pacing import DEFAULT_EXTERNAL_RPS, LimitError, Limits, SharedLimiter, parse_rate
from harness.preflight import PreflightError, check_account, check_base_url, check_key, probe
from harness.runinfo import TAG_KEY, check_run_id, is_tagged


@dataclass(frozen=True)
class Action:
    """Clean-up for objects of one type in one state: `method path` (with {id}) and its params."""

    state_field: str
    state: str | None  # the value of state_field that calls for this action (None: the field is null)
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    label: str = ""


# object type -> (retrieve path, list path, actions). Order matters: invoices before their items.
CLEANUP: dict[str, tuple[str, str, tuple[Action, ...]]] = {
    "invoice": ("/v1/invoices/{id}", "/v1/invoices", (
        Action("status", "draft", "DELETE", "/v1/invoices/{id}", label="deleted draft invoice"),
        Action("status", "open", "POST", "/v1/invoices/{id}/void", label="voided open invoice"),
    )),
    "invoiceitem": ("/v1/invoiceitems/{id}", "/v1/invoiceitems", (
        Action("invoice", None, "DELETE", "/v1/invoiceitems/{id}", label="deleted pending invoice item"),
    )),
    "invoice_rendering_template": ("/v1/invoice_rendering_templates/{id}", "/v1/invoice_rendering_templates", (
        Action("status", "active", "POST", "/v1/invoice_rendering_templates/{id}/archive", label="archived template"),
    )),
    "identity.verification_session": ("/v1/identity/verification_sessions/{id}",
                                      "/v1/identity/verification_sessions", (
        Action("status", "requires_input", "POST", "/v1/identity/verification_sessions/{id}/cancel",
               label="canceled verification session"),
    )),
    "issuing.card": ("/v1/issuing/cards/{id}", "/v1/issuing/cards", (
        Action("status", "active", "POST", "/v1/issuing/cards/{id}", {"status": "canceled"}, "canceled card"),
        Action("status", "inactive", "POST", "/v1/issuing/cards/{id}", {"status": "canceled"}, "canceled card"),
    )),
    "issuing.cardholder": ("/v1/issuing/cardholders/{id}", "/v1/issuing/cardholders", (
        Action("status", "active", "POST", "/v1/issuing/cardholders/{id}", {"status": "inactive"},
               "deactivated cardholder"),
    )),
}
SEARCHES = {"invoice": "/v1/invoices/search"}
MAX_PAGES = 50  # per list: 5,000 objects, enough for a run and bounded on a huge shared account


@dataclass
class CleanupReport:
    """What clean-up did: actions taken (one line each), objects needing none, errors (one line each)."""

    cleaned: list[str] = field(default_factory=list)
    untouched: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"cleaned": len(self.cleaned), "untouched": self.untouched, "errors": self.errors,
                "notes": self.notes}


def clean_up(api: ApiClient, objects: Iterable[tuple[str, str]], run_id: str, *,
             require_tag: bool = False, dry_run: bool = False) -> CleanupReport:
    """Clean up `(object type, id)` pairs the run created; with `require_tag`, only those carrying its tag.

    Types without a clean-up (customers, payment intents, ...) are left alone. Never raises for API errors.
    """
    report = CleanupReport()
    order = list(CLEANUP)
    pending = sorted({pair for pair in objects if pair[0] in CLEANUP}, key=lambda pair: order.index(pair[0]))
    for kind, object_id in pending:
        try:
            _clean_one(api, kind, object_id, run_id, require_tag, dry_run, report)
        except TransportError as exc:
            report.errors.append(f"{kind} {object_id}: no answer ({str(exc).splitlines()[0]})")
    return report


def _clean_one(api: ApiClient, kind: str, object_id: str, run_id: str, require_tag: bool, dry_run: bool,
               report: CleanupReport) -> None:
    retrieve, _, actions = CLEANUP[kind]
    resp = api.get(retrieve.format(id=object_id))
    if resp.status == 404:  # already gone (deleted by a test, or with its invoice)
        report.untouched += 1
        return
    if resp.status != 200 or not isinstance(resp.body, dict):
        report.errors.append(f"{kind} {object_id}: could not read it ({resp.status} {_message(resp.body)})")
        return
    obj = resp.body
    if require_tag and not is_tagged(obj, run_id):
        report.untouched += 1
        return
    for action in actions:
        if obj.get(action.state_field) != action.state:
            continue
        if dry_run:
            report.cleaned.append(f"would have {action.label} {object_id}")
            return
        done = api.request(action.method, action.path.format(id=object_id), action.params or None)
        if done.status == 200:
            report.cleaned.append(f"{action.label} {object_id}")
        else:
            report.errors.append(f"{kind} {object_id}: {action.method} {action.path.format(id=object_id)} -> "
                                 f"{done.status} {_message(done.body)}")
        return
    report.untouched += 1


def _message(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message", ""))[:200] if isinstance(error, dict) else ""


# -- finding a run's objects later ---------------------------------------------------------------------------


def find_tagged(api: ApiClient, run_id: str, notes: list[str]) -> set[tuple[str, str]]:
    """Every object carrying the run's tag that search and the list endpoints can reach."""
    found: set[tuple[str, str]] = set()
    for kind, path in SEARCHES.items():
        query = f'metadata["{TAG_KEY}"]:"{run_id}"'
        found |= {(kind, obj["id"]) for obj in _pages(api, path, {"query": query}, notes, search=True)
                  if is_tagged(obj, run_id)}
    for kind, (_, list_path, _) in CLEANUP.items():
        found |= {(kind, obj["id"]) for obj in _pages(api, list_path, {}, notes) if is_tagged(obj, run_id)}
    return found


def _pages(api: ApiClient, path: str, params: dict[str, Any], notes: list[str], *,
           search: bool = False) -> Iterator[dict]:
    cursor: dict[str, str] = {}
    for _ in range(MAX_PAGES):
        resp = api.get(path, {**params, "limit": 100, **cursor})
        if resp.status != 200 or not isinstance(resp.body, dict):
            notes.append(f"GET {path}: {resp.status} {_message(resp.body)} (skipped)")
            return
        data = resp.body.get("data") or []
        yield from (obj for obj in data if isinstance(obj, dict))
        if not resp.body.get("has_more") or not data:
            return
        cursor = {"page": resp.body["next_page"]} if search else {"starting_after": data[-1]["id"]}
    notes.append(f"GET {path}: stopped after {MAX_PAGES} pages; run the command again for the rest")


def ledger_objects(folder: Path, run_id: str) -> set[tuple[str, str]]:
    """`(object type, id)` pairs recorded by the run's ledger files (`run-parts/*.json`) for this run id."""
    pairs: set[tuple[str, str]] = set()
    for part in sorted(folder.glob("*.json")):
        data = json.loads(part.read_text())
        if data.get("run_id") == run_id:
            pairs |= {(entry["object"], entry["id"]) for entry in data.get("created", [])}
    return pairs


# -- command line --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.cleanup`` (options in the module docstring; `argv` None: ``sys.argv``). Returns the exit
    code: 0 when everything found was cleaned up (or needed nothing), 1 when some object could not be, 2 for bad
    input (one line on stderr saying what to change)."""
    parser = argparse.ArgumentParser(prog="python -m harness.cleanup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("HARNESS_BASE_URL"), required=False)
    parser.add_argument("--api-key", default=os.environ.get("HARNESS_API_KEY"))
    parser.add_argument("--run-id", default=os.environ.get("HARNESS_RUN_ID"))
    parser.add_argument("--stripe-account", default=os.environ.get("HARNESS_STRIPE_ACCOUNT"))
    parser.add_argument("--ledger", type=Path, help="a run-parts folder from the run (adds the IDs it recorded)")
    parser.add_argument("--max-rps", default=os.environ.get("HARNESS_MAX_RPS", str(DEFAULT_EXTERNAL_RPS)))
    parser.add_argument("--allow-live", action="store_true", default=os.environ.get("HARNESS_ALLOW_LIVE") == "1")
    parser.add_argument("--dry-run", action="store_true", help="say what would be cleaned up, change nothing")
    args = parser.parse_args(argv)
    try:
        if not args.base_url:
            raise PreflightError("--base-url is needed (or HARNESS_BASE_URL)")
        if not args.run_id:
            raise PreflightError("--run-id is needed: the id the run printed (also in its Allure environment)")
        check_run_id(args.run_id)
        base_url = check_base_url(args.base_url)
        key = check_key(args.api_key, "--api-key", args.allow_live)
        account = check_account(args.stripe_account)
        rate = parse_rate(args.max_rps)
        # The API version the suites pin (response shapes depend on it), and the connected account if any.
        headers = {"Stripe-Version": load_contract().stripe_version, **({"Stripe-Account": account} if account else {})}
        probe(base_url, key, headers)
        if args.ledger is not None and not args.ledger.is_dir():
            raise PreflightError(f"--ledger {args.ledger}: no such folder (it is reports/run-parts after a run)")
    except (PreflightError, LimitError, ValueError) as exc:
        print(f"harness.cleanup: {exc}", file=sys.stderr)
        return 2
    with ApiClient(base_url, key, default_headers=headers) as api:
        if rate is not None:
            limiter = SharedLimiter(SharedLimiter.create(Path(tempfile.mkdtemp()) / "limits"), Limits(rate))
            api.gate(limiter.acquire)
        notes: list[str] = []
        targets = find_tagged(api, args.run_id, notes)
        ledger = ledger_objects(args.ledger, args.run_id) if args.ledger is not None else set()
        # Ledger IDs without the tag were still created by the run (its own record says so).
        report = clean_up(api, targets | ledger, args.run_id, dry_run=args.dry_run)
        report.notes = notes + report.notes
    print(f"run {args.run_id}: {len(targets)} tagged objects found, {len(ledger)} in the ledger")
    for line in report.cleaned:
        print(f"  {line}")
    print(f"{len(report.cleaned)} cleaned up, {report.untouched} needed nothing, {len(report.errors)} errors")
    for line in report.notes + report.errors:
        print(f"  {line}")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
