"""`ApiCalls.read_ahead`: a batch of read-backs is sent once, and the reads that follow take its answers."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.loader import load_contract
from harness.client import PlannedRequest
from suites.machines import ApiCalls, read_back


class RecordingApi:
    """Stands in for `ApiClient`: answers a batch with its planned requests, and counts single requests."""

    def __init__(self) -> None:
        self.batches: list[list[PlannedRequest]] = []
        self.single: list[tuple[str, str]] = []

    def request_all(self, planned: list[PlannedRequest]) -> list[Any]:
        self.batches.append(list(planned))
        return [("answer", p.path, p.params) for p in planned]

    def request(self, method: str, path: str, params: Any = None, **kwargs: Any) -> Any:
        self.single.append((method, path))
        return ("sent", path, params)


class Reader(ApiCalls):
    @read_back
    def check(self) -> list[Any]:
        self.read_ahead([("RetrieveInvoice", {"invoice": "in_1"}, None),
                         ("ListInvoiceLines", {"invoice": "in_1"}, {"limit": 100})])
        return [self.send("RetrieveInvoice", {"invoice": "in_1"}),
                self.send("ListInvoiceLines", {"invoice": "in_1"}, {"limit": 100}),
                self.send("ListInvoiceLines", {"invoice": "in_1"}, {"limit": 10})]


@pytest.fixture(scope="module")
def contract():
    return load_contract()


def test_reads_sent_ahead_are_taken_once_and_the_rest_are_sent(contract) -> None:
    api = RecordingApi()
    reader = Reader(api, contract)  # type: ignore[arg-type]
    first, lines, other = reader.check()
    assert [(p.method, p.path, p.params, p.operation) for p in api.batches[0]] == [
        ("GET", "/v1/invoices/in_1", None, "RetrieveInvoice"),
        ("GET", "/v1/invoices/in_1/lines", {"limit": 100}, "ListInvoiceLines")]
    assert first == ("answer", "/v1/invoices/in_1", None)
    assert lines == ("answer", "/v1/invoices/in_1/lines", {"limit": 100})
    assert other == ("sent", "/v1/invoices/in_1/lines", {"limit": 10})  # not read ahead: sent
    assert api.single == [("GET", "/v1/invoices/in_1/lines")]


def test_answers_read_ahead_are_forgotten_when_the_invariant_ends(contract) -> None:
    api = RecordingApi()
    reader = Reader(api, contract)  # type: ignore[arg-type]
    reader.read_ahead([("RetrieveInvoice", {"invoice": "in_2"}, None)])
    read_back(lambda self: None)(reader)
    assert reader.send("RetrieveInvoice", {"invoice": "in_2"}) == ("sent", "/v1/invoices/in_2", None)
