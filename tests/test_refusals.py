"""`suites.refusals.finding` keys findings as `harness.checks.finding` does: one contract or invariant defect of the
whole server is one finding however many operations show it; a 5xx stays one finding per operation."""

from __future__ import annotations

import pytest

from contracts.loader import load_contract
from harness.findings import ANY_OPERATION, Category
from suites.refusals import finding


@pytest.mark.parametrize("category", [Category.CONTRACT, Category.INVARIANT])
def test_a_refusal_broken_on_many_operations_is_one_finding(category: Category) -> None:
    contract = load_contract()
    seen = [finding(category, contract[op], "two Authorization headers are refused (400)", "expected 400, got 200",
                    "detail", []).finding for op in ("RetrieveInvoice", "ListInvoiceItems")]
    assert seen[0].key == seen[1].key and seen[0].operation == ANY_OPERATION
    assert [f.operations for f in seen] == [["GET /v1/invoices/{invoice}"], ["GET /v1/invoiceitems"]]


def test_a_5xx_stays_one_finding_per_operation() -> None:
    contract = load_contract()
    seen = [finding(Category.SERVER_ERROR, contract[op], "a client request must never cause a 5xx", "status 500",
                    "detail", []).finding for op in ("RetrieveInvoice", "ListInvoiceItems")]
    assert seen[0].key != seen[1].key and seen[0].operation == "GET /v1/invoices/{invoice}"
