"""`suites.conftest.snapshot(..., reuse=True)`: the view of an object before a request under test is the last read
of it only while the client has sent nothing at all since; any request, a read included, means a fresh read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from contracts.loader import load_contract
from harness import findings
from harness.client import PlannedRequest
from suites import conftest
from suites.conftest import snapshot, snapshots
from tests.conftest import FakeAnswer


@dataclass
class FakeClient:
    """Counts requests like `ApiClient.sent`; each read of an object answers a new version of it."""

    sent: int = 0
    paths: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)  # the size of each `request_all` batch

    def request(self, method: str, path: str, params: object = None, **kwargs: object) -> FakeAnswer:
        self.sent += 1
        self.paths.append(f"{method} {path}")
        return FakeAnswer(200, {"id": path.rsplit("/", 1)[-1], "version": self.sent})

    def request_all(self, planned: list[PlannedRequest]) -> list[FakeAnswer]:
        self.batches.append(len(planned))
        return [self.request(p.method, p.path, p.params) for p in planned]


@pytest.fixture
def contract():
    return load_contract()


@pytest.fixture(autouse=True)
def _forget_reads() -> None:
    conftest._last_reads.clear()


def test_the_view_before_a_request_is_the_last_read_when_nothing_was_sent_since(contract) -> None:
    client = FakeClient()
    op = contract["FinalizeInvoice"]
    after_previous = snapshot(contract, client, op, {"invoice": "in_1"})
    assert snapshot(contract, client, op, {"invoice": "in_1"}, reuse=True) == after_previous
    assert client.paths == ["GET /v1/invoices/in_1"]


def test_any_request_since_the_last_read_means_a_fresh_read(contract) -> None:
    client = FakeClient()
    op = contract["FinalizeInvoice"]
    first = snapshot(contract, client, op, {"invoice": "in_1"})
    client.request("GET", "/v1/customers")  # even a read: the server may act on anything
    assert snapshot(contract, client, op, {"invoice": "in_1"}, reuse=True) != first
    assert client.paths.count("GET /v1/invoices/in_1") == 2


def test_the_view_after_a_request_is_always_read_again(contract) -> None:
    client = FakeClient()
    op = contract["FinalizeInvoice"]
    before = snapshot(contract, client, op, {"invoice": "in_1"}, reuse=True)
    assert snapshot(contract, client, op, {"invoice": "in_1"}) != before  # no reuse unless asked


def test_another_object_or_another_client_is_never_reused(contract) -> None:
    client, other = FakeClient(), FakeClient()
    op = contract["FinalizeInvoice"]
    snapshot(contract, client, op, {"invoice": "in_1"})
    snapshot(contract, client, op, {"invoice": "in_2"}, reuse=True)
    snapshot(contract, other, op, {"invoice": "in_2"}, reuse=True)
    assert client.paths == ["GET /v1/invoices/in_1", "GET /v1/invoices/in_2"]
    assert other.paths == ["GET /v1/invoices/in_2"]


def test_a_read_is_never_reused_by_another_test(contract) -> None:
    client = FakeClient()
    op = contract["FinalizeInvoice"]
    try:
        findings.set_current_test("suites/test_a.py::test_one")
        snapshot(contract, client, op, {"invoice": "in_1"})
        findings.set_current_test("suites/test_a.py::test_two")  # it may have sent raw requests since
        snapshot(contract, client, op, {"invoice": "in_1"}, reuse=True)
    finally:
        findings.set_current_test(None)
    assert client.paths == ["GET /v1/invoices/in_1"] * 2


def test_a_request_sent_outside_the_client_means_a_fresh_read(contract) -> None:
    client = FakeClient()
    op = contract["FinalizeInvoice"]
    first = snapshot(contract, client, op, {"invoice": "in_1"})
    conftest.sent_outside()  # a raw request the client's count does not see
    assert snapshot(contract, client, op, {"invoice": "in_1"}, reuse=True) != first
    assert client.paths == ["GET /v1/invoices/in_1"] * 2


def test_several_objects_are_read_in_one_batch_each_once_in_the_order_given(contract) -> None:
    client = FakeClient()
    op = contract["FinalizeInvoice"]
    views = snapshots(contract, client, op, [{"invoice": "in_1"}, {"invoice": "in_2"}, {"invoice": "in_1"}])
    assert [v["id"] for v in views] == ["in_1", "in_2", "in_1"] and views[0] is views[2]
    assert client.batches == [2]


def test_a_batch_reuses_only_the_views_nothing_was_sent_since(contract) -> None:
    client = FakeClient()
    op = contract["FinalizeInvoice"]
    first = snapshots(contract, client, op, [{"invoice": "in_1"}, {"invoice": "in_2"}])
    again = snapshots(contract, client, op, [{"invoice": "in_1"}, {"invoice": "in_3"}], reuse=True)
    assert again[0] == first[0] and again[1]["id"] == "in_3"
    assert client.batches == [2, 1]
    assert snapshots(contract, client, op, [{"invoice": "in_2"}], reuse=True)[0] != first[1]  # in_3 was read since


def test_an_operation_without_an_object_has_no_views(contract) -> None:
    client = FakeClient()
    assert snapshots(contract, client, contract["ListInvoices"], [{}, {}]) == [None, None]
    assert client.paths == []
