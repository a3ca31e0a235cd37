"""List filters derived from the contract (mockserver/listing.py): which schemas are ranges, and how a filter
matches a field that holds an ID or the expanded object."""

from __future__ import annotations

from contracts.loader import load_contract
from mockserver.listing import filters_for, is_range

CONTRACT = load_contract()
BOUNDS = {"type": "object", "properties": {name: {"type": "integer"} for name in ("gt", "gte", "lt", "lte")}}


def _matches(operation_id: str, params: dict, obj: dict) -> bool:
    return all(pred(obj) for pred in filters_for(CONTRACT[operation_id], params))


def test_a_range_is_the_bounds_object_alone_or_beside_an_integer() -> None:
    assert is_range(BOUNDS)
    assert is_range({"anyOf": [BOUNDS, {"type": "integer"}]})
    assert not is_range({"type": "integer"})
    assert not is_range({"type": "object", "properties": {"after": {"type": "string"}}})
    assert not is_range({"anyOf": [BOUNDS, {"type": "string"}]})


def test_every_range_filter_of_the_contract_is_recognised() -> None:
    """`created` of ListForwardingRequests is typed as the bounds object only; the others as integer or bounds."""
    for operation_id in ("ListForwardingRequests", "ListInvoices", "ListIssuingAuthorizations"):
        created = next(p for p in CONTRACT[operation_id].query_params if p.name == "created")
        assert is_range(created.schema), operation_id


def test_an_id_filter_matches_the_id_and_the_expanded_object() -> None:
    card = {"id": "ic_1", "cardholder": {"id": "ich_1", "object": "issuing.cardholder"}, "status": "active"}
    assert _matches("ListIssuingCards", {"cardholder": "ich_1"}, card)
    assert not _matches("ListIssuingCards", {"cardholder": "ich_2"}, card)
    assert _matches("ListInvoices", {"customer": "cus_1"}, {"customer": "cus_1"})
    assert _matches("ListInvoices", {"customer": "cus_1"}, {"customer": {"id": "cus_1", "object": "customer"}})


def test_an_invoice_is_found_by_the_subscription_in_its_parent() -> None:
    """Stripe's invoice names its subscription at `parent.subscription_details.subscription`."""
    invoice = {"id": "in_1", "parent": {"type": "subscription_details",
                                        "subscription_details": {"subscription": "sub_1", "metadata": None}}}
    assert _matches("ListInvoices", {"subscription": "sub_1"}, invoice)
    assert not _matches("ListInvoices", {"subscription": "sub_2"}, invoice)
    assert not _matches("ListInvoices", {"subscription": "sub_1"}, {"id": "in_2", "parent": None})
