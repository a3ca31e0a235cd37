"""Supporting endpoints (customers, products, payment methods, payment intents) and Stripe's card test tokens.

Other families refer to these objects, so the mock keeps them minimal but real: references are checked per
account, and the test tokens (`pm_card_visa`, `pm_card_chargeDeclined`, ...) behave as in Stripe's test mode.

Whether a payment method declines is not a hidden flag: as in Stripe, it follows from the test card number, so it
is derived from the card's `last4` (4000 0000 0000 0002 declines, ...9995 lacks funds). The stored object stays
exactly what the API serialises, and `payment_method_declines` works for any stored payment method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError, no_such
from mockserver.handlers.common import create, optional, reference
from mockserver.handlers.registry import handles

if TYPE_CHECKING:
    from mockserver.context import Context


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    exp_month: int = 12
    exp_year: int = 2034


# Stripe's test tokens (payment method tokens and the legacy card tokens), by the card they stand for.
TEST_TOKENS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242"),
    "pm_card_mastercard": TestCard("mastercard", "4444"),
    "pm_card_amex": TestCard("amex", "0005"),
    "pm_card_chargeDeclined": TestCard("visa", "0002"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard("visa", "9995"),
    "tok_visa": TestCard("visa", "4242"),
    "tok_mastercard": TestCard("mastercard", "4444"),
    "tok_amex": TestCard("amex", "0005"),
    "tok_chargeDeclined": TestCard("visa", "0002"),
    "tok_chargeDeclinedInsufficientFunds": TestCard("visa", "9995"),
}
DEFAULT_TOKEN = "pm_card_visa"

# Test card last4 -> Stripe's decline code for that card.
DECLINING_LAST4: dict[str, str] = {"0002": "generic_decline", "9995": "insufficient_funds"}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


class CardError(ApiError):
    """A 402 `card_error` carrying Stripe's extra fields (`decline_code`, the failed `payment_intent`)."""

    def __init__(self, message: str, *, code: str = "card_declined", decline_code: str | None = None,
                 extra: dict[str, Any] | None = None):
        super().__init__(402, message, type="card_error", code=code)
        self.decline_code = decline_code
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        out = super().body()
        if self.decline_code:
            out["error"]["decline_code"] = self.decline_code
        out["error"].update(self.extra)
        return out


# -- payment methods -----------------------------------------------------------------------------------------


def _new_payment_method(ctx: Context, card: TestCard, customer: str | None = None,
                        metadata: dict | None = None) -> dict:
    return create(ctx, "payment_method", type="card", customer=customer, metadata=metadata or {},
                  card={"brand": card.brand, "last4": card.last4, "exp_month": card.exp_month,
                        "exp_year": card.exp_year})


def resolve_payment_method(ctx: Context, pm_id_or_token: str, param: str) -> dict:
    """The stored payment method an ID names; a test token (`pm_card_visa`) makes a fresh one, as in Stripe.

    Unknown IDs (and other accounts' payment methods) are a 400 `resource_missing` naming `param`.
    """
    card = TEST_TOKENS.get(pm_id_or_token)
    if card is not None:
        return _new_payment_method(ctx, card)
    found = ctx.account.collection("payment_method").get(pm_id_or_token)
    if found is None:
        raise no_such("PaymentMethod", pm_id_or_token, param=param)
    return found


def decline_code(ctx: Context, pm_id: str, param: str = "payment_method") -> str | None:
    """Stripe's decline code for charging this payment method or token, None when the charge succeeds."""
    card = TEST_TOKENS.get(pm_id)
    if card is not None:
        return DECLINING_LAST4.get(card.last4)
    found = ctx.account.collection("payment_method").get(pm_id)
    if found is None:
        raise no_such("PaymentMethod", pm_id, param=param)
    return DECLINING_LAST4.get((found.get("card") or {}).get("last4", ""))


def payment_method_declines(ctx: Context, pm_id: str, param: str = "payment_method") -> bool:
    """Would charging this payment method (or test token) be declined? Unknown IDs: 400 naming `param`."""
    return decline_code(ctx, pm_id, param) is not None


def card_declined(code: str, extra: dict[str, Any] | None = None) -> CardError:
    """The 402 Stripe answers when a charge with a declining test card fails."""
    return CardError(DECLINE_MESSAGES.get(code, "Your card was declined."), decline_code=code, extra=extra)


@handles("CreatePaymentMethod")
def create_payment_method(ctx: Context) -> dict:
    card_params = ctx.params.get("card")
    token = optional(card_params, "token") if isinstance(card_params, dict) else None
    card = TEST_TOKENS.get(token or DEFAULT_TOKEN)
    if card is None:
        raise no_such("token", token, param="card[token]")
    customer = reference(ctx, "customer", "customer")
    metadata = optional(ctx.params, "metadata") or {}
    return _new_payment_method(ctx, card, customer["id"] if customer else None, metadata)


# -- payment intents -----------------------------------------------------------------------------------------


@handles("CreatePaymentIntent")
def create_payment_intent(ctx: Context) -> dict:
    """Without `confirm`: waits for a payment method or confirmation; with it: succeeds or is declined (402)."""
    params = ctx.params
    customer = reference(ctx, "customer", "customer")
    pm_ref = optional(params, "payment_method")
    confirm = params.get("confirm") is True
    if confirm and pm_ref is None:
        raise ApiError(400, "You cannot confirm this PaymentIntent because it's missing a payment method. "
                            "Provide a payment_method.", code="payment_intent_unexpected_state",
                       param="payment_method")
    pm = resolve_payment_method(ctx, pm_ref, "payment_method") if pm_ref is not None else None
    fields: dict[str, Any] = {
        "amount": params["amount"], "currency": params["currency"].lower(),
        "customer": customer["id"] if customer else None, "payment_method": pm["id"] if pm else None,
        "metadata": optional(params, "metadata") or {}, "amount_received": 0,
        "status": "requires_confirmation" if pm else "requires_payment_method",
    }
    if not confirm:
        return create(ctx, "payment_intent", **fields)
    assert pm is not None
    code = decline_code(ctx, pm["id"])
    if code is not None:
        # Stripe keeps the failed intent, detached from the declined card, and names it in the error.
        intent = create(ctx, "payment_intent", **{**fields, "payment_method": None,
                                                  "status": "requires_payment_method"})
        raise card_declined(code, {"payment_intent": dict(intent), "payment_method": dict(pm)})
    return create(ctx, "payment_intent", **{**fields, "status": "succeeded", "amount_received": params["amount"]})


# -- customers and products ----------------------------------------------------------------------------------


@handles("CreateCustomer")
def create_customer(ctx: Context) -> dict:
    p = ctx.params
    return create(ctx, "customer", email=optional(p, "email"), name=optional(p, "name"),
                  description=optional(p, "description"), metadata=optional(p, "metadata") or {})


@handles("CreateProduct")
def create_product(ctx: Context) -> dict:
    p = ctx.params
    return create(ctx, "product", name=p["name"], active=True, description=optional(p, "description"),
                  metadata=optional(p, "metadata") or {})


