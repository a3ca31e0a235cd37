"""`suites.side_by_side`: which requests one example may send together, and how many examples that leaves."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import settings

from contracts.loader import load_contract
from harness.passes import DEEP, FIRST, PASS_PARAM
from suites import side_by_side
from suites.preconditions import PRECONDITIONS

CONTRACT = load_contract()


def _item(which: str | None) -> SimpleNamespace:
    return SimpleNamespace(callspec=SimpleNamespace(params={PASS_PARAM: which} if which else {}))


def test_reads_and_requests_with_objects_of_their_own_go_side_by_side_in_the_deep_pass() -> None:
    deep = _item(DEEP)
    assert side_by_side.per_example(CONTRACT["RetrieveInvoice"], deep) == side_by_side.SIDE_BY_SIDE
    assert PRECONDITIONS["FinalizeInvoice"].consumes
    assert side_by_side.per_example(CONTRACT["FinalizeInvoice"], deep) == side_by_side.SIDE_BY_SIDE


def test_writes_to_a_shared_object_and_the_first_pass_send_one() -> None:
    shared_writes = [op for op in CONTRACT.operations.values()
                     if op.operation_id in PRECONDITIONS and op.method != "GET"
                     and not PRECONDITIONS[op.operation_id].consumes]
    assert shared_writes, "the contract has writes to shared objects (updates of the shared draft ...)"
    for op in shared_writes:
        assert side_by_side.per_example(op, _item(DEEP)) == 1, op.operation_id
    assert side_by_side.per_example(CONTRACT["RetrieveInvoice"], _item(FIRST)) == 1


def test_the_examples_divide_the_profile_rounding_up() -> None:
    previous = settings.default
    settings.register_profile("side-by-side-test", parent=previous, max_examples=16)
    settings.load_profile("side-by-side-test")
    try:
        assert side_by_side.examples(3).max_examples == 6
        assert side_by_side.examples(1).max_examples == 16
    finally:
        settings.register_profile("side-by-side-restore", parent=previous)
        settings.load_profile("side-by-side-restore")
