"""Checks shared by the suites that send requests a server must refuse or survive: no 5xx, no stall, no trace.

Each failure is a `harness.findings.Finding` (category, the property, the operation, a signature free of IDs) that
carries the exchanges, so the report shows the request, the answer and a curl line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.loader import Operation
from harness.checks import keyed_operation
from harness.client import Response
from harness.findings import Category, CheckFailed, Finding
from harness.target import Target

RESPONSE_BOUND = 5.0
"""Seconds: on the embedded mock, any answer slower than this is a finding (a stall blocks every client)."""


def finding(category: Category, op: Operation, check: str, signature: str, detail: str,
            exchanges: list[dict[str, Any]]) -> CheckFailed:
    """The exception that stops a test on one `Finding` (raise it). As `harness.checks.finding` keys them: a
    contract or invariant finding is one for the whole server (operation ``*``, listing where it was seen: the same
    refusal broken the same way on 45 operations is one defect of shared code); a 5xx is one per operation."""
    return CheckFailed(Finding(category, check, keyed_operation(category, op.label), signature, detail, exchanges,
                               operations=[op.label]))


def exchanges_of(resp: Response) -> list[dict[str, Any]]:
    """Every attempt behind `resp`, redacted, as findings carry them."""
    return [ex.to_dict() for ex in resp.exchanges]


def answered_safely(op: Operation, resp: Response, target: Target, what: str,
                    again: Callable[[], Response] | None = None) -> None:
    """No 5xx, and (embedded mock) no answer slower than RESPONSE_BOUND seconds.

    A slow answer is sent `again` (when given) before it counts: on a machine shared with other jobs one answer
    may wait for a CPU, while a request that stalls the server is slow every time."""
    if resp.status >= 500:
        raise finding(Category.SERVER_ERROR, op, "a client request must never cause a 5xx", f"status {resp.status}",
                      f"{what}: got {resp.status}\n\n{resp.describe()}", exchanges_of(resp))
    if not target.embedded or _seconds(resp) <= RESPONSE_BOUND:
        return
    if again is not None and _seconds(again()) <= RESPONSE_BOUND:
        return  # the machine, not the server
    raise finding(Category.SERVER_ERROR, op, f"every answer arrives within {RESPONSE_BOUND:g} s", "slow answer",
                  f"{what}: answered after {_seconds(resp):.1f} s\n\n{resp.describe()}", exchanges_of(resp))


def _seconds(resp: Response) -> float:
    return resp.exchange.duration_ms / 1000


def unchanged(op: Operation, before: Any, after: Any, what: str, resp: Response) -> None:
    """The object read back after a refused request equals the one read before it."""
    if after != before:
        raise finding(Category.INVARIANT, op, "a refused request changes nothing", "state changed",
                      f"{what}: refused with {resp.status}, but the object changed\n\n{resp.describe()}",
                      exchanges_of(resp))


def expect_status(op: Operation, resp: Response, statuses: tuple[int, ...], check: str, what: str) -> None:
    """The answer has one of `statuses`, else a contract finding for property `check`."""
    if resp.status not in statuses:
        raise finding(Category.CONTRACT, op, check, f"expected {'/'.join(map(str, statuses))}, got {resp.status}",
                      f"{what}: got {resp.status}\n\n{resp.describe()}", exchanges_of(resp))
