"""The mock's Issuing authorizations (the test helper, metadata-only updates, filters, isolation) and the
cardholders and cards the helper takes them from."""

from __future__ import annotations

import functools

from mockserver.testing import InProcessClient, fails, listed, ok

HELPER = "/v1/test_helpers/issuing/authorizations"
AUTHS = "/v1/issuing/authorizations"
ADDRESS = {"line1": "1 Market Street", "city": "San Francisco", "postal_code": "94105", "country": "US"}


def new_cardholder(client: InProcessClient, **params: object) -> dict:
    return ok(client.post("/v1/issuing/cardholders", {"name": "Jenny Rosen", "billing": {"address": ADDRESS},
                                                      **params}), "CreateIssuingCardholder")


def new_card(client: InProcessClient, cardholder: str | None = None, **params: object) -> dict:
    holder = cardholder or new_cardholder(client)["id"]
    return ok(client.post("/v1/issuing/cards", {"cardholder": holder, "currency": "usd", "type": "virtual",
                                                "status": "active", **params}), "CreateIssuingCard")







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
    card = new_card(client)
    auth = new_auth(client, amount=2500, currency="EUR", card=card["id"], status="closed",
                    authorization_method="chip", metadata={"k": "v"},
                    merchant_data={"category": "eating_places_restaurants", "name": "Bistro", "country": "FR"})
    assert (auth["amount"], auth["currency"], auth["status"]) == (2500, "eur", "closed")
    assert auth["card"] == card and auth["cardholder"] == card["cardholder"]["id"]
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
    holder_1, holder_2 = new_cardholder(client)["id"], new_cardholder(client)["id"]
    card_1, card_2, card_3 = new_card(client, holder_1)["id"], new_card(client, holder_1)["id"], \
        new_card(client, holder_2)["id"]
    a = new_auth(client, card=card_1)
    b = new_auth(client, card=card_2, status="closed")
    c = new_auth(client, card=card_3, status="reversed")

    ids = functools.partial(listed, client, AUTHS, "ListIssuingAuthorizations")

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(card=card_1) == [a["id"]]
    assert ids(cardholder=holder_1) == [b["id"], a["id"]]
    assert ids(card=card_3, cardholder=holder_1) == []
    assert ids(status="pending") == [a["id"]]
    assert ids(status="expired") == []
    assert ids(created={"lte": c["created"]}) == [c["id"], b["id"], a["id"]]  # c is the newest: all of them
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


def test_the_helper_takes_stripes_card_parameter(client: InProcessClient) -> None:
    """Stripe's helper authorizes on a card of the account: cardholder and default currency are the card's."""
    card = new_card(client, currency="eur")
    auth = new_auth(client, card=card["id"])
    assert auth["card"] == card and auth["cardholder"] == card["cardholder"]["id"] and auth["currency"] == "eur"
    assert auth["approved"] is True and auth["status"] == "pending"
    fails(client.post(HELPER, {"amount": 5, "card": "ic_missing"}), 400, "card", "resource_missing")
    fails(client.post(HELPER, {"amount": 5, "card": card["id"], "cardholder": "ich_other"}), 400, "cardholder")
    inactive = new_card(client, status="inactive")
    declined = new_auth(client, card=inactive["id"])
    assert declined["approved"] is False and declined["status"] == "closed"
    assert declined["request_history"][0]["reason"] == "card_inactive"


def test_cardholders_and_cards(client: InProcessClient, other: InProcessClient) -> None:
    holder = new_cardholder(client, metadata={"k": "v"}, individual={"first_name": "Jenny", "last_name": "Rosen"})
    assert holder["id"].startswith("ich_") and holder["object"] == "issuing.cardholder"
    assert (holder["status"], holder["type"]) == ("active", "individual")
    assert holder["billing"]["address"]["line1"] == "1 Market Street" and holder["billing"]["address"]["state"] is None
    assert (holder["individual"]["first_name"], holder["individual"]["last_name"]) == ("Jenny", "Rosen")
    card = ok(client.post("/v1/issuing/cards", {"cardholder": holder["id"], "currency": "USD", "type": "virtual"}),
              "CreateIssuingCard")
    assert card["id"].startswith("ic_") and card["status"] == "inactive" and card["currency"] == "usd"
    assert card["cardholder"] == holder and len(card["last4"]) == 4 and 1 <= card["exp_month"] <= 12
    fails(client.post("/v1/issuing/cards", {"cardholder": "ich_missing", "currency": "usd", "type": "virtual"}),
          400, "cardholder", "resource_missing")
    fails(client.post("/v1/issuing/cardholders", {"name": "No address"}), 400, "billing", "parameter_missing")
    path = f"/v1/issuing/cards/{card['id']}"
    assert ok(client.post(path, {"status": "active"}), "UpdateIssuingCard")["status"] == "active"
    canceled = ok(client.post(path, {"status": "canceled", "cancellation_reason": "lost"}), "UpdateIssuingCard")
    assert (canceled["status"], canceled["cancellation_reason"]) == ("canceled", "lost")
    fails(client.post(path, {"status": "active"}), 400, "status")
    listed = ok(client.get("/v1/issuing/cards", {"cardholder": holder["id"]}), "ListIssuingCards")["data"]
    assert [c["id"] for c in listed] == [card["id"]]
    assert ok(client.get("/v1/issuing/cards", {"status": "active"}), "ListIssuingCards")["data"] == []
    inactive = ok(client.post(f"/v1/issuing/cardholders/{holder['id']}", {"status": "inactive"}),
                  "UpdateIssuingCardholder")
    assert inactive["status"] == "inactive"
    fails(other.get(path), 404, code="resource_missing")
    fails(other.get(f"/v1/issuing/cardholders/{holder['id']}"), 404, code="resource_missing")
