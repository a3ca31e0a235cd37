"""The coverage recorder: which operation an exchange counts for, and the parameter paths it sent."""

from __future__ import annotations

from contracts.loader import load_contract
from harness.coverage import CoverageRecorder


def test_an_exchange_counts_for_the_operation_its_path_matches() -> None:
    recorder = CoverageRecorder(load_contract())
    recorder.record("GET", "/v1/invoices/in_123?expand[0]=customer", {"expand": ["customer"]}, 200)
    recorder.record("GET", "/v1/no_such_thing", {}, 404)
    assert recorder.to_json() == {"RetrieveInvoice": {"calls": 1, "statuses": {"200": 1}, "params": ["expand"]}}


def test_a_named_operation_is_counted_without_matching_the_path() -> None:
    """The caller knew the operation (``ApiClient.request(operation=...)``): the path is not consulted, so even one
    the contract's templates would route elsewhere counts for the named operation."""
    recorder = CoverageRecorder(load_contract())
    recorder.record("GET", "/v1/invoices", {"limit": "3"}, 200, "RetrieveInvoice")
    recorder.record("POST", "/v1/invoices/in_1/void", None, None, "VoidInvoice")
    assert recorder.to_json() == {
        "RetrieveInvoice": {"calls": 1, "statuses": {"200": 1}, "params": ["limit"]},
        "VoidInvoice": {"calls": 1, "statuses": {"transport-error": 1}, "params": []},
    }
