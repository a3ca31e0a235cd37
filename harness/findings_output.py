"""Write a run's findings for people and tools: the terminal summary, reports/findings.json, reports/findings.md,
one reports/findings/<id>.json per finding (what `python -m harness.replay` reads), and per-worker parts.

Everything written goes through `harness.redaction.scrub` (exchanges are redacted at the source already; this is
the belt to those braces).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.findings import Category, Finding, merge
from harness.parts import clear_json
from harness.redaction import scrub, scrub_obj

PARTS = "findings-parts"
JSON_NAME = "findings.json"
MD_NAME = "findings.md"
FOLDER = "findings"
# Summary order: defects first, worst first; what does not count as a defect last.
ORDER = [Category.SERVER_ERROR, Category.CONTRACT, Category.INVARIANT, Category.NOT_IMPLEMENTED, Category.HARNESS,
         Category.FLAKY]


def shown_category(finding: Finding) -> Category:
    """The category a finding is listed under: one that did not reproduce is listed as flaky."""
    return Category.FLAKY if finding.reproducible is False and finding.category.is_defect else finding.category


def grouped(findings: Iterable[Finding]) -> list[tuple[Category, list[Finding]]]:
    """Findings by listed category, in `ORDER`, each group by how often it was seen (most first)."""
    groups: dict[Category, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(shown_category(finding), []).append(finding)
    return [(c, sorted(groups[c], key=lambda f: (-f.count, f.headline()))) for c in ORDER if c in groups]


FOLD_NOT_IMPLEMENTED = 3  # more not-implemented operations than this are summarised on one line
VERDICT = {True: "reproduced", False: "did not reproduce", None: "not replayed"}


WIDTH = 100  # summary lines wrap here so the summary fits one screen


def _seen_in(finding: Finding) -> str:
    """Where a finding was seen: ``"3 tests"``, or ``"during set-up / discovery"`` when no test was running."""
    n = len(finding.tests)
    return f"in {n} test{'s' if n != 1 else ''}" if n else "during set-up / discovery"


def _line(finding: Finding) -> str:
    replay = VERDICT[finding.reproducible]
    what = " is not implemented" if finding.category is Category.NOT_IMPLEMENTED else finding.property_text()
    return f"  [{finding.id}] {finding.where}{what} - seen {finding.count}x {_seen_in(finding)}, {replay}"


def short_name(label: str) -> str:
    """The contract's operation ID for an operation label (``FinalizeInvoice``), or the label itself."""
    from contracts.loader import load_contract

    try:
        contract = load_contract()
    except (OSError, ValueError):
        return label
    return next((op.operation_id for op in contract.operations.values() if op.label == label), label)


def summary_lines(findings: Sequence[Finding]) -> list[str]:
    """The end-of-run summary: ``N distinct findings (D defects)``, then one line each (wrapped at `WIDTH`),
    grouped by category; many missing operations are one count and a wrapped list of operation IDs."""
    defects = sum(1 for f in findings if f.counts_as_defect)
    lines = [f"{len(findings)} distinct finding{'s' if len(findings) != 1 else ''} "
             f"({defects} reproducible defect{'s' if defects != 1 else ''})"]
    for category, members in grouped(findings):
        lines.append(f"{category.heading} ({len(members)}):")
        if category is Category.NOT_IMPLEMENTED and len(members) > FOLD_NOT_IMPLEMENTED:
            # Which operations the target lacks is one fact, not 36 defects to read.
            names = ", ".join(sorted(short_name(f.where) for f in members))
            lines.append(f"  {len(members)} operations not implemented (list in reports/{MD_NAME}):")
            lines += textwrap.wrap(scrub(names), WIDTH, initial_indent="    ", subsequent_indent="    ",
                                   break_long_words=False)
            continue
        for f in members:
            lines += textwrap.wrap(scrub(_line(f)), WIDTH, subsequent_indent="      ", break_long_words=False)
    return lines


def markdown(findings: Sequence[Finding]) -> str:
    """reports/findings.md: the summary, then each finding with its detail, replay verdict and curl lines."""
    out = ["# Findings", "", summary_lines(findings)[0], ""]
    for category, members in grouped(findings):
        out += [f"## {category.heading} ({len(members)})", ""]
        for f in members:
            out += [f"### `{f.id}` {f.where}{f.property_text() or ' is not implemented'}", ""]
            out.append(f"- signature: `{f.signature}`" if f.signature else "- signature: (none)")
            out.append(f"- seen {f.count} times {_seen_in(f)}; replay: "
                       f"{f.replay or VERDICT[f.reproducible]}")
            if f.operation == "*" and f.operations:
                out.append(f"- operations: {', '.join(f'`{o}`' for o in f.operations)}")
            out.append(f"- tests: {', '.join(f'`{t}`' for t in f.tests[:10])}"
                       + (f" and {len(f.tests) - 10} more" if len(f.tests) > 10 else ""))
            if f.detail:
                out += ["", "```", f.detail[:2000], "```"]
            curls = [ex.get("curl", "") for ex in f.exchanges if ex.get("curl")]
            if curls:
                out += ["", "Reproduce (`export HARNESS_API_KEY=...` first; the last request shows the defect):", "",
                        "```sh", *curls, "```"]
            out += ["", f"Replay: `python -m harness.replay reports/findings/{f.id}.json --base-url URL`", ""]
    return scrub("\n".join(out)) + "\n"


def _dump(data: object) -> str:
    return scrub(json.dumps(scrub_obj(data), indent=2, ensure_ascii=False, default=str))


def save_part(findings: Sequence[Finding], path: Path) -> None:
    """One process's findings (an xdist worker's part) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dump([f.to_dict() for f in findings]), encoding="utf-8")


def load_parts(folder: Path) -> list[Finding]:
    """Every part in `folder`, merged (same defect seen by several workers: one finding)."""
    found: list[Finding] = []
    for part in sorted(folder.glob("*.json")):
        try:
            found += [Finding.from_dict(d) for d in json.loads(part.read_text(encoding="utf-8"))]
        except (OSError, ValueError, KeyError) as exc:
            raise RuntimeError(f"unreadable findings part {part}: {exc}") from exc
    return merge(found)


def write_reports(findings: Sequence[Finding], reports: Path) -> list[Path]:
    """reports/findings.json, reports/findings.md and reports/findings/<id>.json (old ones removed)."""
    folder = reports / FOLDER
    clear_json(folder)
    data = [f.to_dict() for f in findings]
    for item in data:
        (folder / f"{item['id']}.json").write_text(_dump(item), encoding="utf-8")
    document = {
        "distinct": len(findings),
        "defects": sum(1 for f in findings if f.counts_as_defect),
        "by_category": {c.value: len(m) for c, m in grouped(findings)},
        "findings": data,
    }
    (reports / JSON_NAME).write_text(_dump(document), encoding="utf-8")
    (reports / MD_NAME).write_text(markdown(findings), encoding="utf-8")
    return [reports / JSON_NAME, reports / MD_NAME, folder]
