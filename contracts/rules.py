"""The business-rules table (`contracts/rules.yaml`): typed rows and the questions the mock and the suites ask.

The table holds every rule the suites assert that the contract cannot express: the transition tables (invoice,
Identity session, rendering template), what each invoice action accepts in which collection method, parameter
rules (`due_date` only for `send_invoice`), the amount relations and the feature rules. Each row carries its
source, a Stripe API reference or documentation statement, or none. The mock enforces these rows and the suites
expect them, from this one table.

    python -m contracts.rules            # the table as Markdown (the README's copy is checked by a test)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from contracts.documents import read_yaml

HERE = Path(__file__).resolve().parent
RULES_FILE = HERE / "rules.yaml"
KINDS = ("transition", "refuses", "methods", "param_rule", "relation", "feature")
# What a successful delete leaves: no status, the object is gone.
DELETED = "deleted"


@dataclass(frozen=True)
class Source:
    url: str
    quote: str


@dataclass(frozen=True)
class Rule:
    """One row. `kind` is one of KINDS and `data` that kind's mapping (see rules.yaml)."""

    id: str
    area: str
    statement: str
    kind: str
    data: dict[str, Any]
    source: Source | None

    @property
    def sourced(self) -> bool:
        return self.source is not None


@dataclass(frozen=True)
class Decision:
    """What the table says about one action on an object in one state.

    `result` is the status the object ends in (``"deleted"`` for a delete), or None when the action is refused
    (a 400 that changes nothing). `rules` are the rows the decision rests on: assert it only when all of them
    may be asserted against the target (`RuleBook.assertable`).
    """

    result: str | None
    rules: tuple[Rule, ...]

    @property
    def legal(self) -> bool:
        return self.result is not None

    @property
    def sourced(self) -> bool:
        return all(r.sourced for r in self.rules)


@dataclass
class RuleBook:
    rules: dict[str, Rule] = field(default_factory=dict)

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def of_kind(self, kind: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == kind]

    # -- transitions ----------------------------------------------------------------------------------------

    def transition(self, obj: str, action: str) -> Rule:
        for rule in self.of_kind("transition"):
            if rule.data["object"] == obj and rule.data["action"] == action:
                return rule
        raise KeyError(f"the rules table has no transition for {obj} {action}")

    def actions(self, obj: str) -> list[str]:
        """The actions the table has transitions for, in table order."""
        return [r.data["action"] for r in self.of_kind("transition") if r.data["object"] == obj]

    def statuses(self, obj: str) -> list[str]:
        """Every status the transitions of `obj` start from or lead to (not "deleted"), in table order."""
        seen: dict[str, None] = {}
        for rule in self.of_kind("transition"):
            if rule.data["object"] == obj:
                for start, end in rule.data["from"].items():
                    seen.setdefault(start)
                    if end != DELETED:
                        seen.setdefault(end)
        return list(seen)

    def refusal(self, obj: str) -> Rule:
        for rule in self.of_kind("refuses"):
            if rule.data["object"] == obj:
                return rule
        raise KeyError(f"the rules table has no refusal rule for {obj}")

    def methods(self, obj: str, action: str) -> Rule | None:
        """The collection-method row of an action, or None when the action does not depend on it."""
        for rule in self.of_kind("methods"):
            if rule.data["object"] == obj and rule.data["action"] == action:
                return rule
        return None

    def decide(self, obj: str, action: str, status: str, collection_method: str | None = None) -> Decision:
        """The outcome of `action` on an `obj` in `status` (and, for invoices, of that collection method)."""
        move = self.transition(obj, action)
        methods = self.methods(obj, action) if collection_method is not None else None
        if methods is not None and collection_method not in methods.data["collection_methods"]:
            return Decision(None, (methods,))
        result = move.data["from"].get(status)
        if result is None:
            return Decision(None, (self.refusal(obj),))
        return Decision(result, (move,) if methods is None else (move, methods))

    def legal_from(self, obj: str, action: str) -> set[str]:
        return set(self.transition(obj, action).data["from"])

    # -- parameter rules ------------------------------------------------------------------------------------

    def param_rules(self, operation_id: str) -> list[Rule]:
        return [r for r in self.of_kind("param_rule") if operation_id in r.data["operations"]]

    # -- who may assert what --------------------------------------------------------------------------------

    @staticmethod
    def assertable(rules: tuple[Rule, ...] | list[Rule] | Rule, *, external: bool, unsourced: bool) -> bool:
        """True when these rows may be asserted: all sourced, or the target is the embedded mock, or the user
        opted in to unsourced rules (`--unsourced-rules`)."""
        rows = (rules,) if isinstance(rules, Rule) else tuple(rules)
        return not external or unsourced or all(r.sourced for r in rows)

    # -- documentation --------------------------------------------------------------------------------------

    def markdown(self) -> str:
        """The table as Markdown: one line per rule with its source (the README holds this text verbatim)."""
        lines = ["| rule | area | statement | source |", "|---|---|---|---|"]
        for rule in self.rules.values():
            source = f"[{_short(rule.source.url)}]({rule.source.url})" if rule.source else "none (mock only)"
            lines.append(f"| `{rule.id}` | {rule.area} | {rule.statement} | {source} |")
        return "\n".join(lines)


def _short(url: str) -> str:
    return url.removeprefix("https://docs.stripe.com/").split("#")[0] or url


def parse(document: dict) -> RuleBook:
    """Typed rows from the YAML document; raises ValueError naming the row for a malformed one."""
    book = RuleBook()
    for row in document.get("rules") or []:
        rule_id = row.get("id")
        kinds = [k for k in KINDS if k in row]
        if not rule_id or len(kinds) != 1 or not row.get("statement") or "source" not in row:
            raise ValueError(f"rules.yaml: row {rule_id or row!r} needs id, statement, source and exactly one of "
                             f"{', '.join(KINDS)}")
        if rule_id in book.rules:
            raise ValueError(f"rules.yaml: duplicate rule id {rule_id}")
        src = row["source"]
        if src is not None and not (src.get("url") and src.get("quote")):
            raise ValueError(f"rules.yaml: {rule_id}: a source needs a url and a quote (or source: null)")
        book.rules[rule_id] = Rule(rule_id, row.get("area", ""), " ".join(str(row["statement"]).split()),
                                   kinds[0], row[kinds[0]],
                                   Source(src["url"], " ".join(src["quote"].split())) if src else None)
    return book


@cache
def load_rules(path: Path = RULES_FILE) -> RuleBook:
    """The table (read once per process)."""
    return parse(read_yaml(path))


def main() -> None:
    print(load_rules().markdown())


if __name__ == "__main__":
    main()
