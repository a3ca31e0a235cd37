"""Two passes over the suites: one cheap example of every property and operation first, the deep examples after.

A run that stops at its first failure (`-x`) should stop within seconds, whatever the defect. In collection order a
family's tests wait behind hundreds of unrelated ones, each running all its examples. So every suite test that
generates examples (Hypothesis `@given`, state machines, Schemathesis's coverage cases) is collected twice:

* first pass, `test_x[...-first-pass]`: one generated example, and none of the explicit ones (Schemathesis adds
  its examples phase as explicit examples), one coverage case of an operation (of up to 1,500), or for a state
  machine one run of at most `FIRST_PASS_STEPS` steps; it runs before every deep test, together with the tests
  that generate nothing (they run once);
* deep pass, `test_x[...-deep]`: the profile's examples, as before. A state machine's deep runs are split into
  `MACHINE_SHARDS` tests (`test_x[...-deep-2of8]`; fewer when the profile has fewer runs), each running its
  share of the profile's runs, so that the workers share a machine's long sequences instead of one worker
  running them all at the end (which set the run's length, and more so against a distant target).

Within each pass the tests are interleaved by family (one test function of one module), round robin, so the
first seconds touch every family; the deep pass starts with the state machines' shards, its longest tests
(a state machine sends thousands of requests one after another), each followed by a short test, so that the
workers are not left waiting for a long test that started last. pytest-xdist then hands the tests out one at a
time (`--maxschedchunk 1`, unless given): its default sends each worker chunks of consecutive tests, which put
several of those long tests on one worker, one after another, while the others ran out of work; even one at a
time, a worker holds the test after the one it runs, hence a short one between two shards. The full run's
coverage stays that of the profile; the first pass only adds one example per test. `--first-pass=off`
(HARNESS_FIRST_PASS=off) keeps collection order and one run per test.
"""

from __future__ import annotations

import dataclasses
import os
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from harness import profiles

PASS_PARAM = "harness_pass"
FIRST, DEEP = "first-pass", "deep"
FIRST_PASS_STEPS = 5
MACHINE_SHARDS = 8
SUITES = Path(__file__).resolve().parent.parent / "suites"
_MACHINES = frozenset({"run_machine", "run_state_machine_as_test", "as_state_machine"})
_GENERATORS = frozenset({"given", "coverage_cases"}) | _MACHINES


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--first-pass") != "off" and getattr(config.option, "maxschedchunk", False) is None:
        config.option.maxschedchunk = 1


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("harness").addoption(
        "--first-pass", choices=("on", "off"), default=os.environ.get("HARNESS_FIRST_PASS", "on"),
        help="one example of every generating test before the deep examples [HARNESS_FIRST_PASS]")


def _names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def generates_examples(item: pytest.Item) -> bool:
    """Whether the test draws examples (Hypothesis `@given` in or on it, a state machine, or Schemathesis's
    coverage cases), from its code."""
    func = getattr(item, "obj", None)
    if getattr(func, "is_hypothesis_test", False):
        return True
    code = getattr(func, "__code__", None)
    return code is not None and not _GENERATORS.isdisjoint(_names(code))


def _family(item: pytest.Item) -> tuple[str, str]:
    return (str(getattr(item, "path", "")), getattr(item, "originalname", item.name))


def _interleaved(items: list[pytest.Item]) -> list[pytest.Item]:
    """Round robin over families (test function per module), each family's items in their collected order."""
    families: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        families.setdefault(_family(item), []).append(item)
    lanes = list(families.values())
    return [lane[i] for i in range(max((len(lane) for lane in lanes), default=0)) for lane in lanes if i < len(lane)]


def _in_suites(path: object) -> bool:
    return SUITES in Path(str(path)).parents


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every generating suite test is parametrized once more: `first-pass` and `deep`."""
    if metafunc.config.getoption("--first-pass") == "off" or not _in_suites(metafunc.definition.path):
        return
    code = getattr(metafunc.function, "__code__", None)
    names = set(_names(code)) if code is not None else set()
    if getattr(metafunc.function, "is_hypothesis_test", False) or not _GENERATORS.isdisjoint(names):
        machine = not _MACHINES.isdisjoint(names) and "profile" in metafunc.fixturenames
        shards = min(MACHINE_SHARDS, profiles.active().machines) if machine else 1
        deep = [DEEP] if shards == 1 else [f"{DEEP}-{i}of{shards}" for i in range(1, shards + 1)]
        metafunc.fixturenames.append(PASS_PARAM)
        metafunc.parametrize(PASS_PARAM, [FIRST, *deep])


def pass_of(item: pytest.Item) -> str | None:
    """"first-pass", "deep" or a deep shard ("deep-2of4") for a generating suite test, None for the others."""
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get(PASS_PARAM)


def shard_share(runs: int, which: str) -> int:
    """How many of a state machine's `runs` the deep shard `which` ("deep-2of4") runs: an even split, the first
    shards taking one more when it does not divide (there are never more shards than runs). "deep": all of them."""
    if "of" not in which:
        return runs
    index, _, count = which.removeprefix(f"{DEEP}-").partition("of")
    i, k = int(index), int(count)
    return runs // k + (1 if i <= runs % k else 0)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--first-pass") == "off":
        return
    first: list[pytest.Item] = []
    deep: list[pytest.Item] = []
    others: list[pytest.Item] = []
    for item in items:
        which = pass_of(item)
        if not _in_suites(getattr(item, "path", "")):
            others.append(item)
        elif (which or "").startswith(DEEP) or (which is None and generates_examples(item)):
            deep.append(item)  # Schemathesis's generated tests cannot be parametrized again: they run deep only
        else:
            first.append(item)
    shards = _interleaved([item for item in deep if "of" in (pass_of(item) or "")])
    rest = _interleaved([item for item in deep if "of" not in (pass_of(item) or "")])
    # Longest first, but never two shards in a row: an xdist worker holds the test after the one it runs.
    paired = [item for pair in zip(shards, rest, strict=False) for item in pair]
    n = min(len(shards), len(rest))
    items[:] = [*others, *_interleaved(first), *paired, *shards[n:], *rest[n:]]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A first-pass copy runs with one example: the Hypothesis default profile for `@given` inside the test,
    the settings of a decorated test, and the `profile` fixture's state machine sizes. A deep shard of a state
    machine runs its share of the profile's runs."""
    which = pass_of(item)
    funcargs = getattr(item, "funcargs", {})
    profile = funcargs.get("profile")
    if which is not None and which.startswith(f"{DEEP}-") and dataclasses.is_dataclass(profile):
        funcargs["profile"] = dataclasses.replace(profile, machines=shard_share(profile.machines, which))
        try:
            yield
        finally:
            funcargs["profile"] = profile
        return
    if which != FIRST:
        yield
        return
    previous = settings.default
    settings.register_profile("harness-first-pass", parent=previous, max_examples=1,
                              stateful_step_count=FIRST_PASS_STEPS)
    settings.load_profile("harness-first-pass")
    func = getattr(item, "obj", None)
    inner = getattr(func, "_hypothesis_internal_use_settings", None)
    if inner is not None:
        phases = tuple(p for p in inner.phases if p is not Phase.explicit and p is not Phase.generate)
        func._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
            inner, max_examples=1, phases=(Phase.generate, *phases))
    if profile is not None and dataclasses.is_dataclass(profile):
        funcargs["profile"] = dataclasses.replace(profile, examples=1, machines=1,
                                                  steps=min(profile.steps, FIRST_PASS_STEPS))
    try:
        yield
    finally:
        if inner is not None:
            func._hypothesis_internal_use_settings = inner  # type: ignore[union-attr]
        if profile is not None:
            funcargs["profile"] = profile
        settings.register_profile("harness-previous", parent=previous)
        settings.load_profile("harness-previous")
