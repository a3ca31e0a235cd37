"""The mock's planted-fault catalogue, as the fault matrix and the multi-fault scorer see it.

The harness never imports the mock: it runs ``python -m mockserver --fault list --json`` once (on first use) and
reads each fault's name, family, what it breaks, the suite that should catch it, how its finding is recognised and
the operations it removes, plus the groups of faults that are never planted together. Matching a finding against
a recogniser is the harness's job (findings are the harness's), so it happens here, with the same folding of
per-run values (`harness.findings.stable`) that findings get.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.findings import stable

__all__ = ["CATALOGUE", "Catalogue", "CatalogueError", "Fault", "Recogniser"]

ROOT = Path(__file__).resolve().parent.parent
LIST_COMMAND = (sys.executable, "-m", "mockserver", "--fault", "list", "--json")
"""How the catalogue is asked for (run in the project's root)."""


class CatalogueError(RuntimeError):
    """The mock could not list its fault catalogue (it failed to start, or printed something else than JSON)."""


@dataclass(frozen=True)
class Recogniser:
    """How the finding a fault causes is recognised in a run's findings (``reports/findings.json``).

    A finding is this fault's when its category is one of `categories` (any, if empty), the text ``"check
    (signature)"`` matches `pattern` (case-insensitive search) and its ``operation`` matches one of the shell
    patterns in `operations` (for a finding not tied to one operation, ``"*"``, one of the operations it was seen
    on must; one seen nowhere in particular matches any); or when one of `also` matches. `pattern` is the literal
    `statements` (folded like findings: IDs, long numbers and indices) followed by the regular expression `check`.
    `expect`: how many distinct findings the fault should produce.
    """

    check: str
    operations: tuple[str, ...] = ("*",)
    categories: tuple[str, ...] = ()
    expect: int = 1
    also: tuple[Recogniser, ...] = ()
    statements: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recogniser:
        """From the mock's JSON form (``{"check", "statements", "operations", "categories", "expect", "also"}``)."""
        return cls(check=data["check"], operations=tuple(data["operations"]), categories=tuple(data["categories"]),
                   expect=int(data["expect"]), also=tuple(cls.from_dict(other) for other in data["also"]),
                   statements=tuple(data["statements"]))

    @property
    def pattern(self) -> str:
        """The regular expression a finding's ``"check (signature)"`` is searched with."""
        parts = [re.escape(stable(statement)) for statement in self.statements]
        return "|".join([*parts, *([self.check] if self.check else [])])

    def matches(self, finding: Mapping[str, Any]) -> bool:
        """Whether `finding` (one entry of ``findings.json``) is this recogniser's."""
        return self._matches_self(finding) or any(other.matches(finding) for other in self.also)

    def _matches_self(self, finding: Mapping[str, Any]) -> bool:
        if self.categories and finding.get("category") not in self.categories:
            return False
        text = f"{finding.get('check', '')} ({finding.get('signature', '')})"
        if not re.search(self.pattern, text, re.IGNORECASE):
            return False
        operation = str(finding.get("operation", ""))
        seen_on = [str(op) for op in finding.get("operations") or ()] if operation == "*" else [operation]
        if not seen_on:  # a defect of the whole server, seen nowhere in particular
            return True
        return any(fnmatch.fnmatchcase(op, pattern) for op in seen_on for pattern in self.operations)


@dataclass(frozen=True)
class Fault:
    """One planted fault: `caught_by` is the suite (pytest marker) that should catch it, `removes` the
    operationIds it makes unavailable (the mock answers them as paths it does not serve)."""

    name: str
    family: str
    breaks: str
    caught_by: str
    finding: Recogniser | None
    removes: frozenset[str] = frozenset()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        finding = data.get("finding")
        return cls(name=data["name"], family=data["family"], breaks=data["breaks"], caught_by=data["caught_by"],
                   finding=Recogniser.from_dict(finding) if finding is not None else None,
                   removes=frozenset(data.get("removes", ())))


class Catalogue(Mapping[str, Fault]):
    """Fault name -> `Fault`, in the mock's order; loaded from the mock on first use, then kept.

    `indistinguishable`: groups of faults never planted together (one overrides the other, or no scorer could tell
    their findings apart). Raises `CatalogueError` on first use when the mock cannot list its catalogue.
    """

    def __init__(self, command: tuple[str, ...] = LIST_COMMAND) -> None:
        self._command = command
        self._faults: dict[str, Fault] | None = None
        self._groups: tuple[frozenset[str], ...] = ()

    def _load(self) -> dict[str, Fault]:
        if self._faults is None:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
            try:
                proc = subprocess.run(self._command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise CatalogueError(f"cannot run {' '.join(self._command)}: {exc}") from exc
            if proc.returncode != 0:
                raise CatalogueError(f"{' '.join(self._command)} exited {proc.returncode}: {proc.stderr[-1500:]}")
            try:
                data = json.loads(proc.stdout)
                faults = [Fault.from_dict(entry) for entry in data["faults"]]
                self._groups = tuple(frozenset(group) for group in data["indistinguishable"])
            except (ValueError, KeyError, TypeError) as exc:
                raise CatalogueError(f"{' '.join(self._command)} printed no fault catalogue: {exc!r}: "
                                     f"{proc.stdout[:300]!r}") from exc
            self._faults = {fault.name: fault for fault in faults}
        return self._faults

    def __getitem__(self, name: str) -> Fault:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    @property
    def indistinguishable(self) -> tuple[frozenset[str], ...]:
        self._load()
        return self._groups


CATALOGUE = Catalogue()
"""The catalogue of the mock in this repository (``python -m mockserver``)."""
