"""The mock's supporting endpoints: customers, products, payment methods from test tokens, payment intents."""

from __future__ import annotations

from typing import cast

import pytest

from contracts.loader import load_contract
from mockserver.app import MockApp
from mockserver.context import Context
from mockserver.errors import ApiError
from mockserver.handlers.support import payment_method_declines, resolve_payment_method
from mockserver.testing import TEST_KEY, InProcessClient, fails, ok
from tests.conftest import OTHER_KEY


class _Ctx:
    """The part of a handler Context the support helpers use (they are called from other handlers)."""

    def __init__(self, app: MockApp, key: str):
        self.account = app.store.account(key)
        self.livemode = False


def ctx_for(app: MockApp, key: str = TEST_KEY) -> Context:
    return cast("Context", _Ctx(app, key))


def test_customers(client: InProcessClient, other: InProcessClient) -> None:
    a = ok(client.post("/v1/customers", {"email": "a@example.com", "name": "A", "metadata": {"k": "v"}}),
           "CreateCustomer")
    b = ok(client.post("/v1/customers", {"email": "b@example.com"}), "CreateCustomer")
    assert a["id"].startswith("cus_") and a["name"] == "A" and a["metadata"] == {"k": "v"}
    assert b["name"] is None and b["description"] is None
    assert ok(client.get(f"/v1/customers/{a['id']}"), "RetrieveCustomer") == a
    listed = ok(client.get("/v1/customers"), "ListCustomers")
    assert [c["id"] for c in listed["data"]] == [b["id"], a["id"]] and listed["url"] == "/v1/customers"
    assert [c["id"] for c in ok(client.get("/v1/customers", {"email": "a@example.com"}),
                                "ListCustomers")["data"]] == [a["id"]]
    fails(other.get(f"/v1/customers/{a['id']}"), 404, code="resource_missing")
    assert ok(other.get("/v1/customers"), "ListCustomers")["data"] == []
    fails(client.post("/v1/customers", {"email": "x" * 513}), 400, "email")


def test_products(client: InProcessClient, other: InProcessClient) -> None:
    product = ok(client.post("/v1/products", {"name": "Widget", "description": "A widget"}), "CreateProduct")
    assert product["id"].startswith("prod_") and product["active"] is True and product["name"] == "Widget"
    assert ok(client.get(f"/v1/products/{product['id']}"), "RetrieveProduct") == product
    fails(client.post("/v1/products", {}), 400, "name", "parameter_missing")
    fails(other.get(f"/v1/products/{product['id']}"), 404, code="resource_missing")


@pytest.mark.parametrize(("token", "brand", "declines"), [
    ("pm_card_visa", "visa", False), ("pm_card_mastercard", "mastercard", False), ("pm_card_amex", "amex", False),
    ("pm_card_chargeDeclined", "visa", True), ("pm_card_chargeDeclinedInsufficientFunds", "visa", True),
    ("tok_visa", "visa", False),
])
def test_payment_methods_from_tokens(app: MockApp, client: InProcessClient, token: str, brand: str,
                                     declines: bool) -> None:
    pm = ok(client.post("/v1/payment_methods", {"type": "card", "card": {"token": token}}), "CreatePaymentMethod")
    assert pm["id"].startswith("pm_") and pm["type"] == "card" and pm["card"]["brand"] == brand
    assert len(pm["card"]["last4"]) == 4
    assert set(pm) == set(load_contract().components["payment_method"]["properties"])  # no private markers
    ctx = ctx_for(app)
    assert payment_method_declines(ctx, pm["id"]) is declines
    assert payment_method_declines(ctx, token) is declines


def test_payment_method_defaults_and_errors(client: InProcessClient, other: InProcessClient) -> None:
    pm = ok(client.post("/v1/payment_methods", {}), "CreatePaymentMethod")
    assert pm["card"]["brand"] == "visa" and pm["card"]["last4"] == "4242" and pm["customer"] is None
    fails(client.post("/v1/payment_methods", {"card": {"token": "tok_bogus"}}), 400, "card[token]",
          "resource_missing")
    fails(client.post("/v1/payment_methods", {"type": "sepa_debit"}), 400, "type")
    customer = ok(client.post("/v1/customers", {}), "CreateCustomer")
    attached = ok(client.post("/v1/payment_methods", {"customer": customer["id"], "metadata": {"a": "b"}}),
                  "CreatePaymentMethod")
    assert attached["customer"] == customer["id"] and attached["metadata"] == {"a": "b"}
    fails(other.post("/v1/payment_methods", {"customer": customer["id"]}), 400, "customer", "resource_missing")


def test_resolve_payment_method(app: MockApp) -> None:
    ctx = ctx_for(app)
    fresh = resolve_payment_method(ctx, "pm_card_visa", "payment_method")
    assert fresh["id"].startswith("pm_") and fresh["id"] != "pm_card_visa"
    assert resolve_payment_method(ctx, fresh["id"], "x") is fresh
    with pytest.raises(ApiError) as info:
        resolve_payment_method(ctx, "pm_unknown", "invoice[payment_method]")
    assert (info.value.status, info.value.param, info.value.code) == (400, "invoice[payment_method]",
                                                                      "resource_missing")
    with pytest.raises(ApiError):
        resolve_payment_method(ctx_for(app, OTHER_KEY), fresh["id"], "payment_method")
    with pytest.raises(ApiError):
        payment_method_declines(ctx, "pm_unknown")


def test_payment_intents(client: InProcessClient) -> None:
    customer = ok(client.post("/v1/customers", {}), "CreateCustomer")
    waiting = ok(client.post("/v1/payment_intents", {"amount": 500, "currency": "USD"}), "CreatePaymentIntent")
    assert waiting["id"].startswith("pi_") and waiting["status"] == "requires_payment_method"
    assert waiting["currency"] == "usd" and waiting["amount_received"] == 0
    pm = ok(client.post("/v1/payment_methods", {}), "CreatePaymentMethod")
    unconfirmed = ok(client.post("/v1/payment_intents", {"amount": 500, "currency": "usd", "payment_method": pm["id"]}),
                     "CreatePaymentIntent")
    assert unconfirmed["status"] == "requires_confirmation" and unconfirmed["payment_method"] == pm["id"]
    paid = ok(client.post("/v1/payment_intents", {"amount": 700, "currency": "usd", "customer": customer["id"],
                                                  "payment_method": "pm_card_visa", "confirm": True}),
              "CreatePaymentIntent")
    assert paid["status"] == "succeeded" and paid["amount_received"] == 700
    assert paid["customer"] == customer["id"] and paid["payment_method"].startswith("pm_")
    assert paid["payment_method"] != "pm_card_visa"


@pytest.mark.parametrize(("token", "decline"), [("pm_card_chargeDeclined", "generic_decline"),
                                                ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")])
def test_declined_payment_intent(client: InProcessClient, token: str, decline: str) -> None:
    error = fails(client.post("/v1/payment_intents", {"amount": 700, "currency": "usd", "payment_method": token,
                                                      "confirm": True}), 402, code="card_declined")
    assert error["decline_code"] == decline
    assert load_contract()["CreatePaymentIntent"].response_errors(402, {"error": error}) == []
    assert error["payment_intent"]["status"] == "requires_payment_method"
    stored_pm = ok(client.post("/v1/payment_methods", {"card": {"token": token}}), "CreatePaymentMethod")
    fails(client.post("/v1/payment_intents", {"amount": 1, "currency": "usd", "payment_method": stored_pm["id"],
                                              "confirm": True}), 402, code="card_declined")


def test_payment_intent_errors(client: InProcessClient, other: InProcessClient) -> None:
    fails(client.post("/v1/payment_intents", {"amount": 1, "currency": "usd", "confirm": True}), 400,
          "payment_method")
    fails(client.post("/v1/payment_intents", {"amount": 1, "currency": "usd", "payment_method": "pm_nope"}), 400,
          "payment_method", "resource_missing")
    fails(client.post("/v1/payment_intents", {"amount": 1, "currency": "usd", "customer": "cus_nope"}), 400,
          "customer", "resource_missing")
    fails(client.post("/v1/payment_intents", {"amount": 0, "currency": "usd"}), 400, "amount")
    fails(client.post("/v1/payment_intents", {"currency": "usd"}), 400, "amount", "parameter_missing")
    theirs = ok(other.post("/v1/payment_methods", {}), "CreatePaymentMethod")
    fails(client.post("/v1/payment_intents", {"amount": 1, "currency": "usd", "payment_method": theirs["id"]}),
          400, "payment_method", "resource_missing")
