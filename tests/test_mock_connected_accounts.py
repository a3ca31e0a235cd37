"""The mock's `Stripe-Account` header: a connected account's objects are its own (and the platform's are not)."""

from __future__ import annotations

from mockserver.testing import InProcessClient, fails, ok

CONNECTED = {"stripe-account": "acct_1ConnectedHarness"}


def test_objects_created_for_a_connected_account_belong_to_it(client: InProcessClient) -> None:
    mine = ok(client.post("/v1/customers", {"name": "platform"}), "CreateCustomer")
    theirs = ok(client.post("/v1/customers", {"name": "connected"}, headers=CONNECTED), "CreateCustomer")
    assert ok(client.get(f"/v1/customers/{theirs['id']}", headers=CONNECTED), "RetrieveCustomer") == theirs
    fails(client.get(f"/v1/customers/{theirs['id']}"), 404, code="resource_missing")
    fails(client.get(f"/v1/customers/{mine['id']}", headers=CONNECTED), 404, code="resource_missing")
    other_connected = {"stripe-account": "acct_2Other"}
    assert ok(client.get("/v1/customers", headers=other_connected), "ListCustomers")["data"] == []


def test_a_malformed_account_is_refused_and_nothing_is_created(client: InProcessClient) -> None:
    for value in ("", "acme", "acct_", "acct_with space"):
        fails(client.post("/v1/customers", {"name": "x"}, headers={"stripe-account": value}), 403,
              code="account_invalid")
    assert ok(client.get("/v1/customers"), "ListCustomers")["data"] == []
