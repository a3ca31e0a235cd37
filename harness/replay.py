"""Send a finding's requests again and say whether the defect still happens.

    python -m harness.replay reports/findings/<id>.json [more.json ...] --base-url URL [--api-key KEY]
        [--second-api-key KEY]

The key comes from ``--api-key`` or ``HARNESS_API_KEY`` (never written anywhere). Exit code: 0 when every finding
given reproduces, 1 when one does not (or the replay is inconclusive), 2 for a usage error.

How a replay works (the same code runs once per finding at the end of every suite run, see
`harness.findings_plugin`):

1. The finding's exchanges are its steps (the requests that created and changed the objects it uses, from
   `harness.steps`) followed by the request that showed the defect. They are sent in order with the new key;
   IDs the target gives back replace the old ones in later requests (``in_old`` -> ``in_new``), and each old
   ``Idempotency-Key`` gets a fresh one (used consistently, so a test of key reuse stays one).
2. The finding's ``predicate`` names the check that saw it (``{"check": "is_stripe_error", "kwargs": {...}}``);
   that check runs again on the last answer, collecting findings instead of failing.
3. It reproduces when that check finds the same defect again (same category and signature). A setup step that
   no longer succeeds makes the replay inconclusive (``None``), never "flaky": only a replay that did everything
   the test did and saw a clean answer says a finding did not reproduce.

Findings without a predicate (properties spanning many requests, such as pagination walks) are not replayed:
they are reported as seen.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.client import ApiClient, Response, TransportError
from harness.findings import ID_PATTERN as _ID
from harness.findings import Category, CheckFailed, Finding, collecting, registered_check
from harness.redaction import register_secret, scrub

_SKIP_HEADERS = frozenset({"authorization", "user-agent", "content-length", "host", "accept", "accept-encoding",
                           "connection", "idempotency-key", "content-type"})


def pair_ids(old: Any, new: Any, ids: dict[str, str], depth: int = 0) -> None:
    """Map each object ID of an original answer to the one at the same place in the replayed answer."""
    if depth > 6:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key == "id" and isinstance(value, str) and isinstance(new.get(key), str) and _ID.fullmatch(value):
                ids.setdefault(value, new[key])
            elif isinstance(value, dict | list):
                pair_ids(value, new.get(key), ids, depth + 1)
    elif isinstance(old, list) and isinstance(new, list):
        for a, b in zip(old, new, strict=False):
            pair_ids(a, b, ids, depth + 1)


def _shown(body: Any) -> int:
    """How many objects a list answer shows (0 for anything else)."""
    return len(body["data"]) if isinstance(body, dict) and isinstance(body.get("data"), list) else 0


def replayable(finding: Finding) -> bool:
    """Whether a replay can judge this finding: a defect with a predicate and an example."""
    return (finding.category.is_defect and finding.category is not Category.NOT_IMPLEMENTED
            and bool(finding.predicate) and bool(finding.exchanges or finding.raw))


class Replayer:
    """Replays findings against one target: `primary` and (for isolation findings) `second` clients."""

    def __init__(self, primary: ApiClient, second: ApiClient | None = None) -> None:
        self.primary, self.second = primary, second
        import harness.checks  # noqa: F401 - registers the checks a predicate names
        from contracts.loader import load_contract

        self.contract = load_contract()

    def _send(self, step: dict[str, Any], ids: dict[str, str], keys: dict[str, str]) -> Response:
        split = urlsplit(step.get("url") or "")
        target = split.path + (f"?{split.query}" if split.query else "")
        body = step.get("request_body")
        for old, new in ids.items():
            target = target.replace(old, new)
            body = body.replace(old, new) if body else body
        sent = step.get("request_headers") or {}
        lowered = {k.lower(): v for k, v in sent.items()}
        headers = {k: v for k, v in sent.items() if k.lower() not in _SKIP_HEADERS}
        old_key = lowered.get("idempotency-key")
        idem: str | bool = keys.setdefault(old_key, f"harness-replay-{uuid.uuid4()}") if old_key else False
        client = self.second if step.get("account") == "second" and self.second is not None else self.primary
        api_key = ... if "authorization" in lowered else None
        raw = body.encode("utf-8") if body is not None else None
        return client.request(step["method"], target, raw_body=raw, content_type=lowered.get("content-type"),
                              headers=headers, api_key=api_key, idempotency_key=idem)

    def replay(self, finding: Finding) -> tuple[bool | None, str]:
        """(reproduced?, what the replay saw); ``None`` when it could not tell."""
        if not replayable(finding):
            return None, "not replayable (no single-answer check to re-run)"
        finding.materialise()
        exchanges = finding.exchanges
        ids: dict[str, str] = {}
        keys: dict[str, str] = {}
        try:
            for n, step in enumerate(exchanges[:-1], 1):
                resp = self._send(step, ids, keys)
                was = step.get("status")
                if was is not None and 200 <= was < 300 and not 200 <= resp.status < 300:
                    return None, (f"inconclusive: step {n} ({step['method']} {step.get('path')}) answered "
                                  f"{resp.status}, was {was}")
                pair_ids(step.get("body"), resp.body, ids)
            last = exchanges[-1]
            unmade = [i for i in _ID.findall(f"{last.get('path', '')} {last.get('request_body') or ''}")
                      if i not in ids]
            if unmade:
                return None, (f"inconclusive: the steps do not rebuild {', '.join(unmade[:3])} (made outside the "
                              "requests the harness saw)")
            final = self._send(last, ids, keys)
        except TransportError as exc:
            return None, f"inconclusive: no answer ({scrub(str(exc)).splitlines()[0]})"
        return self.judge(finding, final)

    def judge(self, finding: Finding, resp: Response) -> tuple[bool | None, str]:
        """Re-run the finding's check on a replayed answer."""
        assert finding.predicate is not None
        shown = _shown(finding.exchanges[-1].get("body") if finding.exchanges else None)
        if shown and not _shown(resp.body):
            return None, f"inconclusive: the replayed list is empty (it showed {shown} objects)"
        matched = self.contract.match(resp.exchange.method, resp.exchange.path)
        if matched is None:
            return None, f"inconclusive: {resp.exchange.method} {resp.exchange.path} is no operation of the contract"
        try:
            check = registered_check(finding.predicate["check"])
        except KeyError:
            return None, f"inconclusive: unknown check {finding.predicate.get('check')!r}"
        with collecting() as found:
            try:
                check(matched[0], resp, **(finding.predicate.get("kwargs") or {}))
            except CheckFailed as failed:
                found.append(failed.finding)
        same = [f for f in found if f.category == finding.category and f.signature == finding.signature]
        if same:
            return True, f"reproduced: {resp.exchange.method} {resp.exchange.path} -> {resp.status}"
        seen = "; ".join(f"{f.check} ({f.signature})" for f in found[:3]) or "the check passed"
        return False, f"not reproduced: {resp.exchange.method} {resp.exchange.path} -> {resp.status}, {seen}"


def replay_all(findings: Sequence[Finding], replayer: Replayer) -> dict[str, int]:
    """Replay each replayable finding once, setting ``reproducible`` and ``replay``; returns counts by verdict."""
    counts = {"reproduced": 0, "not reproduced": 0, "inconclusive": 0, "not replayed": 0}
    for finding in findings:
        if not replayable(finding):
            counts["not replayed"] += 1
            continue
        verdict, note = replayer.replay(finding)
        finding.reproducible, finding.replay = verdict, note
        counts["reproduced" if verdict else "not reproduced" if verdict is False else "inconclusive"] += 1
    return counts


def replay_run(config: Any, findings: Sequence[Finding]) -> str:
    """The end-of-run replay (controller side, after the workers' findings are merged): against --base-url, or a
    fresh embedded mock with the run's faults and chaos (each finding in a new account). Returns a summary line."""
    if not any(replayable(f) for f in findings):
        return ""
    if os.environ.get("HARNESS_NO_REPLAY") == "1" or config.getoption("--no-replay", default=False):
        return "replay skipped (--no-replay): findings are reported as seen"
    from harness.target import TargetError, fresh_test_key, start_embedded_mock

    base_url = config.getoption("--base-url")
    target = None
    try:
        if base_url:
            primary_key, second_key = config.getoption("--api-key"), config.getoption("--second-api-key")
        else:
            faults = tuple(f for f in (config.getoption("--fault") or "").split(",") if f)
            chaos = tuple(c for c in (config.getoption("--chaos") or "").split(",") if c)
            target = start_embedded_mock(faults, chaos, label="replay")
            base_url, primary_key, second_key = target.base_url, target.api_key, target.second_api_key
        counts: dict[str, int] = {}
        with ApiClient(base_url, primary_key, backoff=0.05, max_backoff=2.0, max_retries=6) as primary:
            for finding in findings:
                if target is not None:  # a new account per finding: replays never see each other's objects
                    primary.api_key = fresh_test_key("replay")
                    register_secret(primary.api_key)
                    second_key = fresh_test_key("replayother")
                second = primary.with_key(second_key) if second_key else None
                for verdict, n in replay_all([finding], Replayer(primary, second)).items():
                    counts[verdict] = counts.get(verdict, 0) + n
    except TargetError as exc:
        return f"replay skipped: {exc}"
    finally:
        if target is not None:
            target.stop()
    return "replayed each finding once: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n)


# -- command line ------------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m harness.replay", description=__doc__.split("\n\n")[0])
    top.add_argument("files", nargs="+", type=Path, help="finding files: reports/findings/<id>.json")
    top.add_argument("--base-url", default=os.environ.get("HARNESS_BASE_URL"), help="the target [HARNESS_BASE_URL]")
    top.add_argument("--api-key", default=os.environ.get("HARNESS_API_KEY"), help="API key [HARNESS_API_KEY]")
    top.add_argument("--second-api-key", default=os.environ.get("HARNESS_SECOND_API_KEY"),
                     help="a key of another account, for isolation findings [HARNESS_SECOND_API_KEY]")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    opts = parser().parse_args(argv)
    if not opts.base_url:
        parser().error("--base-url is required (or HARNESS_BASE_URL)")
    if not opts.api_key:
        parser().error("--api-key is required (or HARNESS_API_KEY)")
    findings = []
    for path in opts.files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            findings.append(Finding.from_dict(data))
        except (OSError, ValueError, KeyError) as exc:
            parser().error(f"{path}: not a finding file ({exc}); use reports/findings/<id>.json")
    register_secret(opts.api_key)
    register_secret(opts.second_api_key)
    failed = 0
    with ApiClient(opts.base_url, opts.api_key, backoff=0.05, max_backoff=2.0, max_retries=6) as primary:
        second = primary.with_key(opts.second_api_key) if opts.second_api_key else None
        replayer = Replayer(primary, second)
        for finding in findings:
            verdict, note = replayer.replay(finding)
            label = {True: "REPRODUCED", False: "NOT REPRODUCED", None: "INCONCLUSIVE"}[verdict]
            print(scrub(f"{label} [{finding.id}] {finding.headline()}\n  {note}"))
            failed += verdict is not True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
