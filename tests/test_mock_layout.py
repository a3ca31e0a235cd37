"""The mock's modules import each other in one direction (Starlette's layout): the app is built from the request and
response types, the context handlers see, the hooks and the handlers, and none of those imports the app back.

    __main__, server, testing  ->  app  ->  handlers/  ->  billing, listing, objects, context, store, errors
                                       \\->  hooks (faults, chaos, disabled), idempotency, messages

Every import counts, including those only made for type checking.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MOCK = Path(__file__).resolve().parents[1] / "mockserver"
RUNS_THE_APP = {"__main__", "server", "testing"}  # the modules that build or serve a MockApp


def _module(path: Path) -> str:
    return ".".join(path.relative_to(MOCK.parent).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (`from a.b import c` counts as a.b and a.b.c)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module(path): _imports(path) for path in sorted(MOCK.rglob("*.py"))}


def _importers(target: str) -> list[str]:
    return sorted(name for name, imported in MODULES.items()
                  if name != target and any(i == target or i.startswith(target + ".") for i in imported))


def test_the_app_is_imported_only_by_what_runs_it() -> None:
    assert _importers("mockserver.app") == sorted(f"mockserver.{name}" for name in RUNS_THE_APP)


def test_only_the_app_imports_the_handlers() -> None:
    outside = [name for name in _importers("mockserver.handlers") if not name.startswith("mockserver.handlers")]
    assert outside == ["mockserver.app"], "below the app, nothing depends on the handlers package"


@pytest.mark.parametrize("extension", ["mockserver.hooks", "mockserver.faults", "mockserver.chaos",
                                       "mockserver.disabled"])
def test_handlers_know_nothing_of_the_extension_points(extension: str) -> None:
    """Faults and chaos only use the app's hooks: no handler, and nothing a handler uses, knows about them."""
    assert [name for name in _importers(extension) if name.startswith("mockserver.handlers")
            or name in ("mockserver.billing", "mockserver.listing", "mockserver.objects")] == []
