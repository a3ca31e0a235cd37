"""Issuing authorizations, created by the test helper and then read and tagged with metadata; and the cardholders
and cards the helper takes them from.

As in Stripe, the helper's `card` names an Issuing card of the account (`POST /v1/issuing/cards`, issued to a
cardholder from `POST /v1/issuing/cardholders`): the authorization embeds the complete card, takes its cardholder,
and its currency defaults to the card's; a card that is not active gets a declined (closed) authorization. Mock
only: without `card` the helper issues a new virtual card itself (to the named cardholder, or a new one), for
clients that cannot create cards. Only an authorization's `metadata` is updatable.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError
from mockserver.handlers.common import apply_updates, create, fetch, optional, reference, store
from mockserver.handlers.registry import handles
from mockserver.objects import new_object
from mockserver.store import now

if TYPE_CHECKING:
    from mockserver.context import Context

KIND = "issuing.authorization"

# Merchant category -> its merchant category code (the few the helper knows; others get a generic code).
CATEGORY_CODES = {
    "taxicabs_limousines": "4121", "eating_places_restaurants": "5812", "grocery_stores_supermarkets": "5411",
    "service_stations": "5541", "airlines_air_carriers": "4511", "computer_software_stores": "5734",
    "miscellaneous_general_services": "7299",
}
GENERIC_CODE = "5999"
DEFAULT_MERCHANT = {"category": "taxicabs_limousines", "name": "Rocket Rides", "city": "San Francisco",
                    "country": "US", "postal_code": "94107", "state": "CA"}


def _merchant(given: dict) -> dict:
    merchant = dict(DEFAULT_MERCHANT)
    if given:
        # A merchant described by the caller: only what they said, not the default's location.
        merchant = {"category": "miscellaneous_general_services", "name": None, "city": None, "country": None,
                    "postal_code": None, "state": None}
        merchant.update({k: v for k, v in given.items() if v != ""})
    category = merchant["category"]
    return {**merchant, "category_code": CATEGORY_CODES.get(category, GENERIC_CODE),
            "network_id": f"{secrets.randbelow(10**10):010d}", "tax_id": None, "terminal_id": None, "url": None}


# The cardholder and card the helper issues when it meets a card ID for the first time (test-mode values).
CARDHOLDER = {"name": "Jenny Rosen", "email": "jenny.rosen@example.com", "phone_number": "+18008675309",
              "type": "individual", "status": "active", "preferred_locales": ["en"],
              "billing": {"address": {"city": "San Francisco", "country": "US", "line1": "1234 Main Street",
                                      "line2": None, "postal_code": "94111", "state": "CA"}}}
TEST_CARD = {"brand": "Visa", "last4": "4242", "number": "4242424242424242", "cvc": "123", "type": "virtual",
             "status": "active", "exp_month": 12}
CARD_YEARS_VALID = 3


def _cardholder(ctx: Context, cardholder_id: str | None) -> dict:
    holders = ctx.account.collection("issuing.cardholder")
    found = holders.get(cardholder_id) if cardholder_id else None
    if found is not None:
        return found
    fields = {**CARDHOLDER, "billing": {"address": dict(CARDHOLDER["billing"]["address"])}}
    return store(ctx, "issuing.cardholder", new_object(ctx, "issuing.cardholder", **fields,
                                                       **({"id": cardholder_id} if cardholder_id else {})))


def _card(ctx: Context, card_id: str | None, cardholder_id: str | None, currency: str) -> dict:
    """The card an authorization is made on: the account's card of that ID, or a new virtual card."""
    cards = ctx.account.collection("issuing.card")
    found = cards.get(card_id) if card_id else None
    if found is not None:
        return found
    holder = _cardholder(ctx, cardholder_id)
    year = time.gmtime(now()).tm_year + CARD_YEARS_VALID
    card = new_object(ctx, "issuing.card", **TEST_CARD, exp_year=year, currency=currency, cardholder=holder,
                      **({"id": card_id} if card_id else {}))
    return store(ctx, "issuing.card", card)


@handles("TestHelperCreateIssuingAuthorization")
def create_authorization(ctx: Context) -> dict:
    p = ctx.params
    card = reference(ctx, CARD, "card")
    if card is not None and optional(p, "cardholder") not in (None, card["cardholder"]["id"]):
        raise ApiError(400, f"The card {card['id']} belongs to cardholder {card['cardholder']['id']}, not "
                            f"{p['cardholder']}.", code="parameter_invalid", param="cardholder")
    amount = p["amount"]
    currency = (optional(p, "currency") or (card["currency"] if card else "usd")).lower()
    if card is None:  # mock only: issue a card for this authorization
        card = _card(ctx, None, optional(p, "cardholder"), currency)
    method = optional(p, "authorization_method") or "online"
    approved = card["status"] == "active"
    created = now()
    return create(
        ctx, KIND, amount=amount if approved else 0, currency=currency, merchant_amount=amount,
        merchant_currency=currency, amount_details={"atm_fee": None, "cashback_amount": None}, approved=approved,
        authorization_method=method, card_presence="not_present" if method in ("online", "keyed_in") else "present",
        card=card, cardholder=card["cardholder"]["id"],
        status=optional(p, "status") or ("pending" if approved else "closed"),
        merchant_data=_merchant(p.get("merchant_data") or {}), metadata=optional(p, "metadata") or {},
        network_data={"acquiring_institution_id": None, "system_trace_audit_number": None,
                      "transaction_id": f"{secrets.randbelow(10**12):012d}"},
        pending_request=None,
        request_history=[{
            "amount": amount, "amount_details": {"atm_fee": None, "cashback_amount": None}, "approved": approved,
            "authorization_code": f"{secrets.randbelow(10**6):06d}" if approved else None, "created": created,
            "currency": currency, "merchant_amount": amount, "merchant_currency": currency,
            "network_risk_score": None, "reason": "webhook_approved" if approved else f"card_{card['status']}",
            "reason_message": None, "requested_at": created,
        }],
        verification_data={"address_line1_check": "not_provided", "address_postal_code_check": "match",
                           "authentication_exemption": None, "cvc_check": "match", "expiry_check": "match",
                           "postal_code": None, "three_d_secure": None},
        balance_transactions=[], transactions=[], token=None, wallet=None, verified_by_fraud_challenge=None,
    )


@handles("UpdateIssuingAuthorization")
def update_authorization(ctx: Context) -> dict:
    authorization = fetch(ctx, KIND)
    apply_updates(authorization, ctx.params, ("metadata",))
    return authorization


# -- cardholders and cards (supporting endpoints: what Stripe's authorization helper takes a `card` from) ------

CARDHOLDER_KIND = "issuing.cardholder"
CARD = "issuing.card"
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")


def _individual(given: Any) -> dict | None:
    if not isinstance(given, dict):
        return None
    terms = (given.get("card_issuing") or {}).get("user_terms_acceptance")
    card_issuing = None
    if isinstance(terms, dict):
        card_issuing = {"user_terms_acceptance": {"date": optional(terms, "date"), "ip": optional(terms, "ip"),
                                                  "user_agent": None}}
    return {"card_issuing": card_issuing, "dob": None, "first_name": optional(given, "first_name"),
            "last_name": optional(given, "last_name"), "verification": None}


@handles("CreateIssuingCardholder")
def create_cardholder(ctx: Context) -> dict:
    """Stripe's defaults: an individual, `active` (authorizations on its cards are allowed)."""
    p = ctx.params
    address = p["billing"]["address"]
    return create(ctx, CARDHOLDER_KIND, name=p["name"], type=optional(p, "type") or "individual",
                  email=optional(p, "email"), phone_number=optional(p, "phone_number"),
                  status=optional(p, "status") or "active",
                  billing={"address": {name: optional(address, name) for name in ADDRESS_FIELDS}},
                  individual=_individual(p.get("individual")), metadata=optional(p, "metadata") or {})


@handles("UpdateIssuingCardholder")
def update_cardholder(ctx: Context) -> dict:
    cardholder = fetch(ctx, CARDHOLDER_KIND)
    apply_updates(cardholder, ctx.params, ("status", "email", "phone_number", "metadata"))
    return cardholder


@handles("CreateIssuingCard")
def create_card(ctx: Context) -> dict:
    """A card embeds its cardholder (as Stripe's card object does); Stripe's default status is `inactive`."""
    p = ctx.params
    cardholder = reference(ctx, CARDHOLDER_KIND, "cardholder")
    assert cardholder is not None  # required by the contract
    year = time.gmtime(now()).tm_year + CARD_YEARS_VALID
    return create(ctx, CARD, brand="Visa", cardholder=dict(cardholder), currency=p["currency"].lower(),
                  exp_month=secrets.randbelow(12) + 1, exp_year=year, last4=f"{secrets.randbelow(10**4):04d}",
                  status=optional(p, "status") or "inactive", type=p["type"], metadata=optional(p, "metadata") or {})


@handles("UpdateIssuingCard")
def update_card(ctx: Context) -> dict:
    """A canceled card stays canceled (Stripe: canceling is permanent)."""
    card = fetch(ctx, CARD)
    status = optional(ctx.params, "status")
    if card["status"] == "canceled" and status not in (None, "canceled"):
        raise ApiError(400, "This card has been canceled and cannot be reactivated.", code="invalid_state",
                       param="status")
    if optional(ctx.params, "cancellation_reason") is not None and (status or card["status"]) != "canceled":
        raise ApiError(400, "cancellation_reason can only be given when the card is canceled.",
                       code="parameter_invalid", param="cancellation_reason")
    apply_updates(card, ctx.params, ("status", "cancellation_reason", "metadata"))
    return card
