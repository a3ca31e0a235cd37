"""Issuing authorizations: created by the test helper (as in the real API), then read and tagged with metadata.

Cards and cardholders are not modelled: the helper takes their IDs as given (or makes some up), so the
authorization refers to them by ID only. Only `metadata` is updatable (DESIGN §5).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from mockserver.handlers.common import apply_updates, create, fetch, list_objects
from mockserver.handlers.registry import handles
from mockserver.store import new_id, now

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


@handles("TestHelperCreateIssuingAuthorization")
def create_authorization(ctx: Context) -> dict:
    p = ctx.params
    amount = p["amount"]
    currency = (_opt(p, "currency") or "usd").lower()
    method = _opt(p, "authorization_method") or "online"
    created = now()
    return create(
        ctx, KIND, amount=amount, currency=currency, merchant_amount=amount, merchant_currency=currency,
        amount_details={"atm_fee": None, "cashback_amount": None}, approved=True,
        authorization_method=method, card_presence="not_present" if method in ("online", "keyed_in") else "present",
        card={"id": _opt(p, "card") or new_id("ic"), "object": "issuing.card"},
        cardholder=_opt(p, "cardholder") or new_id("ich"), status=_opt(p, "status") or "pending",
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
