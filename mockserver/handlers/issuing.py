"""Issuing authorizations: created by the test helper (as in the real API), then read and tagged with metadata.

The helper takes the card and cardholder IDs as given (or makes some up); the first authorization on a card
issues it: a whole virtual card with its cardholder, kept in the account, so the authorization embeds the complete
card (as Stripe does) and `expand[]=cardholder` finds the cardholder. Only `metadata` is updatable.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from mockserver.handlers.common import apply_updates, create, fetch, list_objects, new_object, store
from mockserver.handlers.registry import handles
from mockserver.store import now

if TYPE_CHECKING:
    from mockserver.app import Context

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


def _opt(params: dict, name: str) -> Any:
    """A parameter's value, with "" (unset) read as absent."""
    value = params.get(name)
    return None if value == "" else value


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
    amount = p["amount"]
    currency = (_opt(p, "currency") or "usd").lower()
    card = _card(ctx, _opt(p, "card"), _opt(p, "cardholder"), currency)
    method = _opt(p, "authorization_method") or "online"
    created = now()
    return create(
        ctx, KIND, amount=amount, currency=currency, merchant_amount=amount, merchant_currency=currency,
        amount_details={"atm_fee": None, "cashback_amount": None}, approved=True,
        authorization_method=method, card_presence="not_present" if method in ("online", "keyed_in") else "present",
        card=card, cardholder=_opt(p, "cardholder") or card["cardholder"]["id"], status=_opt(p, "status") or "pending",
        merchant_data=_merchant(p.get("merchant_data") or {}), metadata=_opt(p, "metadata") or {},
        network_data={"acquiring_institution_id": None, "system_trace_audit_number": None,
                      "transaction_id": f"{secrets.randbelow(10**12):012d}"},
        pending_request=None,
        request_history=[{
            "amount": amount, "amount_details": {"atm_fee": None, "cashback_amount": None}, "approved": True,
            "authorization_code": f"{secrets.randbelow(10**6):06d}", "created": created, "currency": currency,
            "merchant_amount": amount, "merchant_currency": currency, "network_risk_score": None,
            "reason": "webhook_approved", "reason_message": None, "requested_at": created,
        }],
        verification_data={"address_line1_check": "not_provided", "address_postal_code_check": "match",
                           "authentication_exemption": None, "cvc_check": "match", "expiry_check": "match",
                           "postal_code": None, "three_d_secure": None},
        balance_transactions=[], transactions=[], token=None, wallet=None, verified_by_fraud_challenge=None,
    )


@handles("RetrieveIssuingAuthorization")
def retrieve_authorization(ctx: Context) -> dict:
    return fetch(ctx, KIND)


@handles("ListIssuingAuthorizations")
def list_authorizations(ctx: Context) -> dict:
    return list_objects(ctx, KIND)


@handles("UpdateIssuingAuthorization")
def update_authorization(ctx: Context) -> dict:
    authorization = fetch(ctx, KIND)
    apply_updates(authorization, ctx.params, ("metadata",))
    return authorization
