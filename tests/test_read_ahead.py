"""`ApiCalls`: a read is sent once per state (until the client writes), in batches where the order does not matter,
and a refused action reads the object before (from the last invariant) and after (with the next invariant's reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from contracts.loader import load_contract
from harness.checks import INVARIANT, CheckFailed
from harness.client import PlannedRequest
from suites import machines
from suites.machines import ApiCalls, Read


@dataclass
class Answer:
    status: int
    path: str
    params: Any
    body: dict
    exchange: Any = None  # what a finding attaches

    def describe(self) -> str:
        return f"{self.status} {self.path}"


class RecordingApi:
    """Stands in for `ApiClient`: answers every request 200 (or as `statuses` says for a path), and records
    batches and single requests; a request other than GET counts in `writes`, as the client's does. A POST to a
    path in `changes` changes what every later read answers."""

    def __init__(self, statuses: dict[str, int] | None = None, changes: tuple[str, ...] = ()) -> None:
        self.batches: list[list[tuple[str, Any]]] = []
        self.single: list[tuple[str, str]] = []
        self.writes = 0
        self.statuses, self.changes, self.version = statuses or {}, changes, 0

    def _answer(self, path: str, params: Any) -> Answer:
        return Answer(self.statuses.get(path, 200), path, params, {"path": path, "version": self.version})

    def request_all(self, planned: list[PlannedRequest]) -> list[Answer]:
        self.batches.append([(p.path, p.params) for p in planned])
        return [self._answer(p.path, p.params) for p in planned]

    def request(self, method: str, path: str, params: Any = None, **kwargs: Any) -> Answer:
        self.writes += method != "GET"
        self.version += path in self.changes
        self.single.append((method, path))
        return self._answer(path, params)


INVOICE: Read = ("RetrieveInvoice", {"invoice": "in_1"}, None)
LINES: Read = ("ListInvoiceLines", {"invoice": "in_1"}, {"limit": 100})


class Calls(ApiCalls):
    def read_backs(self) -> list[Read]:
        return [INVOICE, LINES]


@pytest.fixture(scope="module")
def contract():
    return load_contract()


@pytest.fixture
def checks_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer passes the status checks: these tests are about which requests go out."""
    monkeypatch.setattr(machines, "succeeds", lambda op, resp, what: resp.body)
    monkeypatch.setattr(machines, "is_stripe_error", lambda op, resp, **kwargs: {})


def test_reads_sent_ahead_are_taken_and_the_rest_are_sent(contract) -> None:
    api = RecordingApi()
    calls = Calls(api, contract)  # type: ignore[arg-type]
    calls.read_ahead([INVOICE, LINES])
    assert api.batches == [[("/v1/invoices/in_1", None), ("/v1/invoices/in_1/lines", {"limit": 100})]]
    assert calls.send(*INVOICE).path == "/v1/invoices/in_1"
    assert calls.send(*LINES).params == {"limit": 100}
    assert calls.send("ListInvoiceLines", {"invoice": "in_1"}, {"limit": 10}).params == {"limit": 10}
    assert api.single == [("GET", "/v1/invoices/in_1/lines")]  # only the read not sent ahead


def test_a_read_is_sent_once_per_state_and_again_after_any_write(contract) -> None:
    api = RecordingApi()
    calls = Calls(api, contract)  # type: ignore[arg-type]
    first = calls.send(*INVOICE)
    assert calls.send(*INVOICE) is first
    calls.read_ahead([INVOICE, LINES])
    assert api.batches == [[("/v1/invoices/in_1/lines", {"limit": 100})]]  # the invoice was answered already
    calls.send("UpdateInvoice", {"invoice": "in_1"}, {"description": "x"})
    assert calls.send(*INVOICE) is not first
    api.writes += 1  # a write by another route of the same client (a fixture creating an object)
    calls.read_ahead([INVOICE])
    assert [m for m, _ in api.single] == ["GET", "POST", "GET"] and len(api.batches) == 2


def test_an_unsettled_answer_is_never_reused(contract) -> None:
    api = RecordingApi({"/v1/invoices/in_1": 503})
    calls = Calls(api, contract)  # type: ignore[arg-type]
    calls.send(*INVOICE)
    calls.read_ahead([INVOICE])
    assert api.single == [("GET", "/v1/invoices/in_1")] and api.batches == [[("/v1/invoices/in_1", None)]]


def test_a_refused_action_reads_after_in_one_batch_with_the_next_invariants_reads(contract, checks_pass) -> None:
    api = RecordingApi({"/v1/invoices/in_1/finalize": 400})
    calls = Calls(api, contract)  # type: ignore[arg-type]
    calls.read_ahead(calls.read_backs())  # the invariant after the last step
    calls.refused("FinalizeInvoice", {"invoice": "in_1"}, read=INVOICE[:2], what="finalizing is refused")
    assert api.single == [("POST", "/v1/invoices/in_1/finalize")]  # "before" was the invariant's answer
    assert api.batches[1] == [("/v1/invoices/in_1", None), ("/v1/invoices/in_1/lines", {"limit": 100})]
    calls.read_ahead(calls.read_backs())  # the next invariant: nothing left to send
    assert len(api.batches) == 2


def test_a_refused_action_that_changes_the_object_is_a_finding(contract, checks_pass) -> None:
    api = RecordingApi({"/v1/invoices/in_1/finalize": 400}, changes=("/v1/invoices/in_1/finalize",))
    calls = Calls(api, contract)  # type: ignore[arg-type]
    calls.read_ahead(calls.read_backs())
    with pytest.raises(CheckFailed) as failed:
        calls.refused("FinalizeInvoice", {"invoice": "in_1"}, read=INVOICE[:2], what="finalizing is refused")
    assert failed.value.finding.category == INVARIANT
    assert "fields changed by the refused request: ['version']" in failed.value.finding.detail
