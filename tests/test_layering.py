"""The import layering between the project's top-level packages, read from the source with `ast`.

Allowed edges (a package may import itself and the packages listed; nothing else of ours)::

    wire        (nothing)              Stripe's wire format: form codec, search query language, ParamError
    contracts   wire                   the OpenAPI contract, its loader, rules and request validation
    strategies  contracts, wire        Hypothesis strategies built from the contract
    mockserver  contracts, wire        the mock: one side of the conversation
    harness     contracts, strategies, wire
                                       the other side: client, pytest plugins, findings, checks, fault matrix
    suites      harness, strategies, contracts, wire
                                       the tests run against a server (any server: never the mock's code)
    bench       harness, mockserver, contracts, strategies, wire
                                       measurements; some time the mock in-process
    tests       anything               the project's own tests may look at both sides to check they agree

Why these and not others:

- ``wire`` is the bottom: both sides of an HTTP conversation (the harness's client and the mock server) must agree
  on the bytes, so they share this one package, and it depends on nothing of ours.
- ``mockserver`` and ``harness`` never import each other. The harness tests a server over HTTP; what it needs
  from the mock (the fault catalogue, an embedded server) it gets by running ``python -m mockserver`` as a process
  (``harness.target``, ``harness.catalogue``). The mock knows nothing about findings or suites.
- ``harness`` does not import ``suites``: the checks the replay re-runs live in ``harness.checks``.
- ``suites`` never import ``mockserver``: a suite is right against any server, so it cannot lean on the mock's code
  (nor predict answers with it).
- ``harness -> strategies`` is allowed though unused today: strategies sit below the harness (they only need the
  contract) and the order ``wire < contracts < strategies < harness < suites`` stays a line.

Dynamic imports with a constant name (``importlib.import_module("x")``, ``__import__("x")``) and ``pytest_plugins``
lists count as imports. Besides the table, the test checks that the packages form no cycle, so a new edge cannot
quietly close one, and that every top-level package is in the table.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", "node_modules", "reports", "docs", ".git", ".tox", "build", ".hypothesis", ".ruff_cache"}

ALLOWED: dict[str, frozenset[str]] = {
    "wire": frozenset(),
    "contracts": frozenset({"wire"}),
    "strategies": frozenset({"contracts", "wire"}),
    "mockserver": frozenset({"contracts", "wire"}),
    "harness": frozenset({"contracts", "strategies", "wire"}),
    "suites": frozenset({"harness", "strategies", "contracts", "wire"}),
    "bench": frozenset({"harness", "mockserver", "contracts", "strategies", "wire"}),
    "tests": frozenset({"wire", "contracts", "strategies", "mockserver", "harness", "suites", "bench"}),
}


def top_level_packages() -> set[str]:
    """Folders at the root holding Python source (the packages the table must place)."""
    return {p.name for p in ROOT.iterdir()
            if p.is_dir() and p.name not in SKIPPED_DIRS and not p.name.startswith(".") and not p.name.endswith(
                ".egg-info") and any(p.rglob("*.py"))}


def _constant_names(node: ast.AST) -> Iterator[str]:
    """Module names given as string constants in `node` (a string, or a list/tuple of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            yield from _constant_names(element)


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in `tree`: statements anywhere (inside functions too),
    ``importlib.import_module``/``__import__`` with a constant name and ``pytest_plugins`` lists."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__"):
                for module in _constant_names(node.args[0]):
                    yield node.lineno, module
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytest_plugins"
                                                  for t in node.targets):
            for module in _constant_names(node.value):
                yield node.lineno, module


def package_edges(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> ``"path:line module"`` for every import between two of our
    top-level packages."""
    ours = top_level_packages() if root == ROOT else {p.name for p in root.iterdir() if p.is_dir()}
    edges: dict[tuple[str, str], list[str]] = {}
    for package in sorted(ours):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, module in imported_modules(tree):
                target = module.split(".")[0]
                if target in ours and target != package:
                    edges.setdefault((package, target), []).append(f"{path.relative_to(root)}:{line} {module}")
    return edges


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle among the packages (``[a, b, ..., a]``), or None."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.fixture(scope="module")
def edges() -> dict[tuple[str, str], list[str]]:
    return package_edges()


def test_every_top_level_package_has_a_place_in_the_layering():
    assert top_level_packages() == set(ALLOWED), "add the package to ALLOWED (and say why in this docstring)"


def test_packages_import_only_what_the_layering_allows(edges):
    forbidden = [f"{source} -> {target}: {where}" for (source, target), places in sorted(edges.items())
                 if target not in ALLOWED[source] for where in places]
    assert forbidden == [], "imports the layering forbids:\n" + "\n".join(forbidden)


def test_the_packages_form_no_cycle(edges):
    assert find_cycle(set(edges)) is None, f"package cycle: {' -> '.join(find_cycle(set(edges)) or [])}"


def test_the_allowed_edges_form_no_cycle_either():
    """The table itself is a layering: even edges nobody uses yet could not close a cycle."""
    allowed = {(source, target) for source, targets in ALLOWED.items() for target in targets}
    assert find_cycle(allowed) is None


def test_the_wire_format_and_the_mock_stay_apart_from_the_harness(edges):
    """The edges issue 14 removed stay removed (named here so the table cannot drift to allow them)."""
    for source, target in [("wire", "contracts"), ("contracts", "harness"), ("harness", "mockserver"),
                           ("mockserver", "harness"), ("harness", "suites"), ("suites", "mockserver")]:
        assert target not in ALLOWED[source], f"{source} -> {target} must stay forbidden"
        assert (source, target) not in edges, f"{source} imports {target}: {edges.get((source, target))}"


def test_the_scanner_sees_every_kind_of_import(tmp_path):
    """A forbidden import is caught wherever it hides: a function body, importlib, __import__, pytest_plugins."""
    for name in ("wire", "harness", "mockserver"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "wire" / "a.py").write_text("def f():\n    from harness import findings\n")
    (tmp_path / "wire" / "b.py").write_text("import importlib\nimportlib.import_module('mockserver.faults')\n")
    (tmp_path / "harness" / "c.py").write_text("__import__('mockserver')\nimport json, wire.codec as c\n")
    (tmp_path / "mockserver" / "d.py").write_text("pytest_plugins = ['harness.plugin']\nfrom . import x\n")
    found = package_edges(tmp_path)
    assert found == {("wire", "harness"): ["wire/a.py:2 harness"],
                     ("wire", "mockserver"): ["wire/b.py:2 mockserver.faults"],
                     ("harness", "mockserver"): ["harness/c.py:1 mockserver"],
                     ("harness", "wire"): ["harness/c.py:2 wire.codec"],
                     ("mockserver", "harness"): ["mockserver/d.py:1 harness.plugin"]}
    assert find_cycle(set(found)) in (["harness", "mockserver", "harness"], ["mockserver", "harness", "mockserver"])
