"""Which operations, status codes and parameters a run exercised: recorded per worker, merged at the end.

Parameters are named by bracketed path with array indices folded to `[]` (`lines[][period][end]`), so the
matrix says which fields of the contract were ever sent, at any depth.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.loader import Contract, Operation


def sent_paths(params: Any, prefix: str = "") -> Iterator[str]:
    """Bracketed paths of every key sent (containers and leaves), indices folded to []."""
    if isinstance(params, dict):
        for key, value in params.items():
            path = f"{prefix}[{key}]" if prefix else str(key)
            yield path
            yield from sent_paths(value, path)
    elif isinstance(params, list):
        for value in params:
            yield from sent_paths(value, f"{prefix}[]")


def schema_paths(schema: dict, prefix: str = "", depth: int = 0) -> Iterator[str]:
    """Bracketed paths of every property a request schema declares."""
    if depth > 8:
        return
    for branch in schema.get("anyOf", []):
        yield from schema_paths(branch, prefix, depth + 1)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        yield from schema_paths(schema["items"], f"{prefix}[]", depth + 1)
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}[{key}]" if prefix else key
        yield path
        yield from schema_paths(sub, path, depth + 1)


@dataclass
class OperationCoverage:
    """What one operation got in a run: requests sent (retries included), answers by status code (``"200"``, or
    ``"transport-error"``), and the bracketed parameter paths ever sent (``lines[][period][end]``)."""

    calls: int = 0
    statuses: Counter = field(default_factory=Counter)
    params: set[str] = field(default_factory=set)


class CoverageRecorder:
    """One process's coverage: fed every exchange (`record`), saved as one JSON part for the run to merge."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self.ops: dict[str, OperationCoverage] = defaultdict(OperationCoverage)

    def record(self, method: str, path: str, params: Any, status: int | None, operation_id: str | None = None) -> None:
        """Count one exchange: for `operation_id` when the caller named it, else for the operation whose path
        template matches `path` (an exchange that matches none is not counted); `params` nested as sent, `status`
        None for a transport error."""
        if operation_id is None:
            matched = self.contract.match(method, path.split("?")[0])
            if matched is None:
                return
            operation_id = matched[0].operation_id
        cov = self.ops[operation_id]
        cov.calls += 1
        cov.statuses[str(status) if status is not None else "transport-error"] += 1
        if isinstance(params, dict):
            cov.params.update(sent_paths(params))

    def to_json(self) -> dict:
        """``{operationId: {"calls": int, "statuses": {status: count}, "params": [sorted paths]}}``."""
        return {op_id: {"calls": c.calls, "statuses": dict(c.statuses), "params": sorted(c.params)}
                for op_id, c in self.ops.items()}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json()))


def merge(parts: Iterable[dict]) -> dict[str, OperationCoverage]:
    """Add up per-worker coverage parts (each as `CoverageRecorder.to_json` writes it) into one
    `OperationCoverage` per operation ID."""
    merged: dict[str, OperationCoverage] = defaultdict(OperationCoverage)
    for part in parts:
        for op_id, data in part.items():
            cov = merged[op_id]
            cov.calls += data["calls"]
            cov.statuses.update(data["statuses"])
            cov.params.update(data["params"])
    return merged


def load_parts(folder: Path) -> dict[str, OperationCoverage]:
    """`merge` of every ``*.json`` part in `folder` (none: an empty result). Raises ``ValueError`` for a part that
    is not JSON."""
    return merge(json.loads(p.read_text()) for p in sorted(folder.glob("*.json")))


@dataclass
class Matrix:
    rows: list[tuple[Operation, OperationCoverage, set[str], set[str]]]  # op, coverage, declared, never sent

    @property
    def called(self) -> int:
        return sum(1 for _, cov, _, _ in self.rows if cov.calls)

    @property
    def param_percent(self) -> float:
        declared = sum(len(d) for _, _, d, _ in self.rows)
        never = sum(len(n) for _, _, _, n in self.rows)
        return 100.0 * (declared - never) / declared if declared else 100.0

    def documented_statuses_missing(self) -> list[str]:
        """Documented status codes (other than `default`) that no call returned."""
        out = []
        for op, cov, _, _ in self.rows:
            for status in op.responses:
                if status.isdigit() and status not in cov.statuses:
                    out.append(f"{op.operation_id} {status}")
        return out

    def text(self, verbose_never: int = 40) -> str:
        lines = [f"Coverage: {self.called}/{len(self.rows)} operations called, "
                 f"{self.param_percent:.1f}% of declared parameters sent"]
        width = max(len(op.label) for op, *_ in self.rows)
        for op, cov, declared, never in self.rows:
            statuses = " ".join(f"{s}x{n}" for s, n in sorted(cov.statuses.items())) or "never called"
            sent = f"{len(declared) - len(never):>3}/{len(declared):<3}"
            lines.append(f"  {op.label:<{width}}  {cov.calls:>5} calls  params {sent}  {statuses}")
        never_all = [f"{op.operation_id}: {p}" for op, _, _, never in self.rows for p in sorted(never)]
        if never_all:
            lines.append(f"Parameters never sent ({len(never_all)}; first {min(verbose_never, len(never_all))}):")
            lines += [f"  {p}" for p in never_all[:verbose_never]]
        missing = self.documented_statuses_missing()
        if missing:
            lines.append(f"Documented statuses never returned ({len(missing)}): {', '.join(missing[:30])}")
        return "\n".join(lines)

    def markdown(self) -> str:
        out = [f"# Coverage matrix\n\n{self.called}/{len(self.rows)} operations called; "
               f"{self.param_percent:.1f}% of declared parameters sent.\n",
               "| operation | calls | statuses | params sent | never sent |", "|---|---|---|---|---|"]
        for op, cov, declared, never in self.rows:
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(cov.statuses.items())) or "—"
            never_text = ", ".join(f"`{p}`" for p in sorted(never)[:25]) + (" …" if len(never) > 25 else "")
            out.append(f"| `{op.label}` | {cov.calls} | {statuses} | {len(declared) - len(never)}/{len(declared)} "
                       f"| {never_text or '—'} |")
        return "\n".join(out) + "\n"


def matrix(contract: Contract, coverage: dict[str, OperationCoverage]) -> Matrix:
    rows = []
    for op in contract.seed_operations:
        declared = set(schema_paths(op.request_schema))
        cov = coverage.get(op.operation_id, OperationCoverage())
        rows.append((op, cov, declared, declared - cov.params))
    return Matrix(rows)
