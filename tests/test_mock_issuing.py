"""The mock's Issuing authorizations: the test helper, metadata-only updates, filters, isolation."""

from __future__ import annotations

from mockserver.testing import InProcessClient, fails, ok

HELPER = "/v1/test_helpers/issuing/authorizations"
AUTHS = "/v1/issuing/authorizations"







def new_auth(client: InProcessClient, **params: object) -> dict:
    return ok(client.post(HELPER, {"amount": 1000, **params}), "TestHelperCreateIssuingAuthorization")


def test_helper_defaults(client: InProcessClient) -> None:
    auth = new_auth(client)
    assert auth["id"].startswith("iauth_")
    assert (auth["amount"], auth["currency"], auth["status"], auth["approved"]) == (1000, "usd", "pending", True)
    assert auth["authorization_method"] == "online"
    assert auth["merchant_amount"] == 1000 and auth["merchant_currency"] == "usd"
    assert auth["card"]["id"].startswith("ic_") and auth["card"]["object"] == "issuing.card"
    assert auth["cardholder"].startswith("ich_")
    assert auth["merchant_data"]["category_code"] and auth["merchant_data"]["network_id"]
    assert auth["request_history"][0]["amount"] == 1000 and auth["request_history"][0]["approved"] is True
    assert auth["metadata"] == {}
    assert ok(client.get(f"{AUTHS}/{auth['id']}"), "RetrieveIssuingAuthorization") == auth


def test_helper_given_values(client: InProcessClient) -> None:
    auth = new_auth(client, amount=2500, currency="EUR", card="ic_given", cardholder="ich_given", status="closed",
                    authorization_method="chip", metadata={"k": "v"},
                    merchant_data={"category": "eating_places_restaurants", "name": "Bistro", "country": "FR"})
    assert (auth["amount"], auth["currency"], auth["status"]) == (2500, "eur", "closed")
    assert auth["card"]["id"] == "ic_given" and auth["cardholder"] == "ich_given"
    assert auth["authorization_method"] == "chip" and auth["card_presence"] == "present"
    assert auth["merchant_data"]["name"] == "Bistro" and auth["merchant_data"]["category_code"] == "5812"
    assert auth["metadata"] == {"k": "v"}


def test_helper_validation(client: InProcessClient) -> None:
    fails(client.post(HELPER, {}), 400, "amount", "parameter_missing")
    fails(client.post(HELPER, {"amount": -1}), 400, "amount", "parameter_invalid_integer")
    fails(client.post(HELPER, {"amount": 1, "status": "approved"}), 400, "status")
    fails(client.post(HELPER, {"amount": 1, "approved": "true"}), 400, "approved", "parameter_unknown")


def test_update_only_metadata(client: InProcessClient) -> None:
    auth = new_auth(client, metadata={"a": "1", "b": "2"})
    path = f"{AUTHS}/{auth['id']}"
    updated = ok(client.post(path, {"metadata": {"a": "", "c": "3"}}), "UpdateIssuingAuthorization")
    assert updated["metadata"] == {"b": "2", "c": "3"}
    assert {k: v for k, v in updated.items() if k != "metadata"} == {k: v for k, v in auth.items()
                                                                    if k != "metadata"}
    fails(client.post(path, {"amount": 5}), 400, "amount", "parameter_unknown")
    fails(client.post(path, {"metadata": {f"k{i}": "v" for i in range(49)}}), 400, "metadata")
    assert ok(client.get(path), "RetrieveIssuingAuthorization") == updated
    cleared = ok(client.post(path, {"metadata": ""}), "UpdateIssuingAuthorization")
    assert cleared["metadata"] == {}
    same = ok(client.post(path, {}), "UpdateIssuingAuthorization")
    assert same == cleared


def test_list_filters(client: InProcessClient) -> None:
    a = new_auth(client, card="ic_1", cardholder="ich_1")
    b = new_auth(client, card="ic_2", cardholder="ich_1", status="closed")
    c = new_auth(client, card="ic_1", cardholder="ich_2", status="reversed")

    def ids(**params: object) -> list[str]:
        body = ok(client.get(AUTHS, params), "ListIssuingAuthorizations")
        assert body["url"] == AUTHS
        return [x["id"] for x in body["data"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(card="ic_1") == [c["id"], a["id"]]
    assert ids(cardholder="ich_1") == [b["id"], a["id"]]
    assert ids(card="ic_1", cardholder="ich_1") == [a["id"]]
    assert ids(status="pending") == [a["id"]]
    assert ids(status="expired") == []
    assert ids(created={"lte": a["created"]}) == [c["id"], b["id"], a["id"]]
    assert ids(created=a["created"] - 1) == []
    assert ids(limit=1, starting_after=c["id"]) == [b["id"]]
    fails(client.get(AUTHS, {"limit": 0}), 400, "limit")
    fails(client.get(AUTHS, {"starting_after": "iauth_missing"}), 400, "starting_after")


def test_isolation(client: InProcessClient, other: InProcessClient) -> None:
    auth = new_auth(client, metadata={"mine": "yes"})
    fails(other.get(f"{AUTHS}/{auth['id']}"), 404, code="resource_missing")
    fails(other.post(f"{AUTHS}/{auth['id']}", {"metadata": {"mine": "no"}}), 404, code="resource_missing")
    assert ok(other.get(AUTHS), "ListIssuingAuthorizations")["data"] == []
    assert ok(other.get(AUTHS, {"card": auth["card"]["id"]}), "ListIssuingAuthorizations")["data"] == []
    assert ok(client.get(f"{AUTHS}/{auth['id']}"), "RetrieveIssuingAuthorization")["metadata"] == {"mine": "yes"}
