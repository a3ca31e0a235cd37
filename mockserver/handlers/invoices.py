"""Invoices: CRUD, the lifecycle (rows `invoice.*` of contracts/rules.yaml), payments, preview and search."""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING, Any

from mockserver import billing
from mockserver.errors import ApiError, bad_state, no_such
from mockserver.handlers import support
from mockserver.handlers.common import create, fetch, merge_metadata, reference
from mockserver.handlers.registry import handles
from mockserver.lifecycle import refuse_params, require
from mockserver.objects import check_representable, complete_field, new_object
from mockserver.store import new_id, now
from wire.search_query import QuerySyntaxError, parse

if TYPE_CHECKING:
    from mockserver.context import Context

# Fields that may still change once an invoice is finalized (monetary ones and collection_method may not).
EDITABLE_AFTER_FINALIZE = ("auto_advance", "custom_fields", "default_payment_method", "default_source",
                           "description", "footer", "metadata", "payment_settings", "rendering",
                           "statement_descriptor", "on_behalf_of", "shipping_details", "expand")

# Request fields copied onto the invoice as they are (beyond those with special handling below).
COPIED_FIELDS = ("auto_advance", "automatically_finalizes_at", "custom_fields", "default_payment_method",
                 "default_source", "description", "due_date", "effective_at", "footer", "on_behalf_of",
                 "payment_settings", "rendering", "shipping_details", "statement_descriptor", "number",
                 "collection_method", "days_until_due", "issuer", "default_tax_rates", "account_tax_ids",
                 "transfer_data", "application_fee_amount")

# How many payments an invoice's includable `payments` list carries (the rest via GET /v1/invoice_payments).
EMBEDDED_PAYMENTS = 10
DEFAULT_DAYS_UNTIL_DUE = 30  # rule invoice.due_date.default (unsourced: the mock's choice)
LATEST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a date can name

NOT_SHOWN = ("application_fee_amount", "days_until_due", "transfer_data", "pending_invoice_items_behavior")


def _invoice(ctx: Context) -> dict:
    return fetch(ctx, "invoice", ctx.path["invoice"])


def _apply_fields(ctx: Context, inv: dict, params: dict) -> None:
    for name in COPIED_FIELDS:
        if name not in params or name in NOT_SHOWN:
            continue
        value = params[name]
        if name in ("default_tax_rates", "account_tax_ids") and value == "":
            value = []
        value = complete_field("invoice", name, unset_empty(value))
        check_representable("invoice", name, value)
        inv[name] = value
    if "metadata" in params:
        inv["metadata"] = merge_metadata(inv.get("metadata"), params["metadata"])
    if "automatic_tax" in params:
        inv["automatic_tax"] = {"enabled": params["automatic_tax"]["enabled"], "disabled_reason": None,
                                "liability": params["automatic_tax"].get("liability"), "provider": None,
                                "status": "complete" if params["automatic_tax"]["enabled"] else None}
    if "issuer" in params:
        inv["issuer"] = {"type": params["issuer"]["type"], "account": params["issuer"].get("account")}
    if "rendering" in params and params["rendering"] != "":
        r = params["rendering"]
        template = r.get("template")
        if template:
            ctx.account.require("invoice_rendering_template", template, "invoice rendering template",
                                "rendering[template]")
        inv["rendering"] = {"amount_tax_display": r.get("amount_tax_display") or None,
                            "pdf": {"page_size": (r.get("pdf") or {}).get("page_size", "auto")},
                            "template": template or None, "template_version": r.get("template_version") or None}
    if "shipping_cost" in params:
        _apply_shipping(inv, params["shipping_cost"])
    if inv.get("collection_method") != "send_invoice":  # rule invoice.due_date.null_unless_send_invoice
        inv["due_date"] = None
    elif inv.get("due_date") is None or params.get("days_until_due"):
        days = params.get("days_until_due") or DEFAULT_DAYS_UNTIL_DUE
        due = inv["created"] + days * 86400
        if days < 0 or due > LATEST_TIMESTAMP:  # derived before storing: a due date no calendar holds is refused
            raise ApiError(400, f"days_until_due={days} must be at least 0 and keep the due date before the year "
                                "10000.",
                           code="parameter_invalid", param="days_until_due")
        inv["due_date"] = due


def _check_params(op: str, inv: dict, params: dict) -> None:
    """The rules table's parameter rules, on the invoice as the request would leave it (before any change)."""
    merged = {**inv, **{k: params[k] for k in ("collection_method",) if params.get(k) not in (None, "")}}
    refuse_params(op, params, merged)


def unset_empty(value: Any) -> Any:
    """Request values where "" means "unset" become the null the object shows, at any depth."""
    if value == "":
        return None
    if isinstance(value, dict):
        return {k: unset_empty(v) for k, v in value.items()}
    return value


def _apply_shipping(inv: dict, shipping: dict | str) -> None:
    if shipping == "" or not shipping:
        inv["shipping_cost"], inv["amount_shipping"] = None, 0
        return
    amount = (((shipping.get("shipping_rate_data") or {}).get("fixed_amount")) or {}).get("amount", 0)
    rate = shipping.get("shipping_rate") or f"shr_{secrets.token_hex(12)}"
    inv["shipping_cost"] = {"amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
                            "shipping_rate": rate, "taxes": []}
    inv["amount_shipping"] = amount


def _customer_fields(customer: dict | None) -> dict:
    if customer is None:
        return {}
    return {"customer": customer["id"], "customer_email": customer.get("email"),
            "customer_name": customer.get("name")}


def _new_invoice(ctx: Context, customer: dict | None, currency: str) -> dict:
    inv = new_object(ctx, "invoice", currency=currency, status="draft", collection_method="charge_automatically",
                     auto_advance=False, billing_reason="manual", metadata={}, account_country="US",
                     account_name="Mock Account", period_start=now(), period_end=now(),
                     issuer={"type": "self", "account": None}, payment_settings={
                         "default_mandate": None, "payment_method_options": None, "payment_method_types": None},
                     **_customer_fields(customer))
    inv["lines"]["url"] = f"/v1/invoices/{inv['id']}/lines"
    inv["payments"] = {"object": "list", "data": [], "has_more": False, "url": f"/v1/invoices/{inv['id']}/payments"}
    return inv


@handles("CreateInvoice")
def create_invoice(ctx: Context) -> dict:
    p = ctx.params
    source = None
    if p.get("from_invoice"):
        source = fetch(ctx, "invoice", p["from_invoice"]["invoice"], "from_invoice[invoice]")
        if source["status"] == "draft":
            raise ApiError(400, "Only finalized invoices can be revised.", code="invoice_not_editable",
                           param="from_invoice[invoice]")
    customer = reference(ctx, "customer", "customer")
    if customer is None and source is not None:
        customer = ctx.account.collection("customer").get(source["customer"])
    if customer is None:
        raise ApiError(400, "Missing required param: customer.", code="parameter_missing", param="customer")
    currency = p.get("currency") or (source or {}).get("currency") or "usd"
    inv = _new_invoice(ctx, customer, currency.lower())
    _check_params("CreateInvoice", inv, p)
    _apply_fields(ctx, inv, p)
    ctx.account.collection("invoice").add(inv)
    if source is not None:
        inv["from_invoice"] = {"action": "revision", "invoice": source["id"]}
        source["latest_revision"] = inv["id"]
        for line in list(billing.lines_of(ctx, source["id"]).oldest_first(-1)):
            old = billing.item_of_line(ctx, line)
            item = billing.new_item(ctx, {"amount": old["amount"], "description": old["description"],
                                          "period": old["period"]}, customer["id"], currency, inv["id"])
            ctx.account.collection("invoiceitem").add(item)
            billing.attach(ctx, item, inv)
    if p.get("pending_invoice_items_behavior") == "include":
        items = ctx.account.collection("invoiceitem")
        pending = [i["id"] for i in items.scan()
                   if i["invoice"] is None and i["customer"] == customer["id"] and i["currency"] == inv["currency"]]
        for item_id in reversed(pending):
            billing.attach(ctx, items.get(item_id), inv)  # type: ignore[arg-type]
    return billing.recompute(ctx, inv)


@handles("UpdateInvoice")
def update_invoice(ctx: Context) -> dict:
    inv = _invoice(ctx)
    _check_params("UpdateInvoice", inv, ctx.params)
    if inv["status"] != "draft":
        locked = sorted(set(ctx.params) - set(EDITABLE_AFTER_FINALIZE))
        if locked:
            raise ApiError(400, f"You can't change '{locked[0]}' once an invoice is finalized "
                                f"(this invoice is {inv['status']}).", code="invoice_not_editable", param=locked[0])
    _apply_fields(ctx, inv, ctx.params)
    return billing.recompute(ctx, inv)


@handles("DeleteInvoice")
def delete_invoice(ctx: Context) -> dict:
    inv = _invoice(ctx)
    require("invoice", "delete", inv)
    items = ctx.account.collection("invoiceitem")
    for line in list(billing.lines_of(ctx, inv["id"]).oldest_first(-1)):
        items.remove(line["parent"]["invoice_item_details"]["invoice_item"])
    ctx.account.drop_collection(f"line_item:{inv['id']}")
    ctx.account.collection("invoice").remove(inv["id"])
    return {"id": inv["id"], "object": "invoice", "deleted": True}


# -- lifecycle ------------------------------------------------------------------------------------------------


def finalize(ctx: Context, inv: dict, auto_advance: bool | None = None) -> None:
    """draft -> open (or paid at once when nothing is due)."""
    t = now()
    if not inv.get("number"):
        inv["number"] = f"{_number_prefix(ctx)}-{ctx.account.next_number('invoice'):04d}"
    if auto_advance is not None:
        inv["auto_advance"] = auto_advance
    billing.recompute(ctx, inv)
    inv["status"] = "open"
    inv["status_transitions"]["finalized_at"] = t
    inv["effective_at"] = inv.get("effective_at") or t
    inv["hosted_invoice_url"] = f"https://invoice.stripe.com/i/mock/{inv['id']}"
    inv["invoice_pdf"] = f"https://pay.stripe.com/invoice/mock/{inv['id']}/pdf"
    inv["webhooks_delivered_at"] = t
    if inv["amount_due"] == 0:
        _mark_paid(inv, t)
    else:  # Stripe creates the invoice's PaymentIntent on finalization; its secret is includable
        intent_id = new_id("pi")
        inv["confirmation_secret"] = {"client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
                                      "type": "payment_intent"}


def _number_prefix(ctx: Context) -> str:
    return "MOCK" + ctx.account.key[-6:].upper().replace("_", "X")


def _mark_paid(inv: dict, t: int) -> None:
    inv["status"] = "paid"
    inv["amount_paid"] = inv["amount_due"]
    inv["amount_remaining"] = 0
    inv["status_transitions"]["paid_at"] = t


def _record_payment(ctx: Context, inv: dict, amount: int, payment: dict, status: str = "paid") -> dict:
    """A new invoice payment, also listed (newest first, the first few) in the invoice's includable `payments`."""
    t = now()
    recorded = create(ctx, "invoice_payment", invoice=inv["id"], amount_paid=amount if status == "paid" else None,
                      amount_requested=amount, currency=inv["currency"], is_default=True, payment=payment,
                      status=status,
                      status_transitions={"canceled_at": None, "paid_at": t if status == "paid" else None})
    listed = inv["payments"]["data"]
    listed.insert(0, recorded)
    inv["payments"]["has_more"] = len(listed) > EMBEDDED_PAYMENTS
    del listed[EMBEDDED_PAYMENTS:]
    return recorded


def _finalization_intent(inv: dict) -> dict:
    """The ID of the PaymentIntent that finalization announced in `confirmation_secret` (paying uses it)."""
    secret = (inv.get("confirmation_secret") or {}).get("client_secret")
    return {"id": secret.partition("_secret_")[0]} if secret else {}


@handles("FinalizeInvoice")
def finalize_invoice(ctx: Context) -> dict:
    inv = _invoice(ctx)
    require("invoice", "finalize", inv)
    finalize(ctx, inv, ctx.params.get("auto_advance"))
    return inv


@handles("PayInvoice")
def pay_invoice(ctx: Context) -> dict:
    inv = _invoice(ctx)
    require("invoice", "pay", inv)
    p = ctx.params
    pm = None
    if not p.get("paid_out_of_band"):
        pm_id = p.get("payment_method") or p.get("source") or inv.get("default_payment_method") or "pm_card_visa"
        pm = support.resolve_payment_method(ctx, pm_id, "payment_method")
    if inv["status"] == "draft":
        finalize(ctx, inv)
        if inv["status"] == "paid":
            return inv
    t = now()
    inv["attempted"] = True
    inv["attempt_count"] += 1
    due = inv["amount_remaining"]
    declined = support.decline_code(ctx, pm["id"]) if pm is not None else None
    if declined:  # the invoice stays open (rule invoice.pay.declined)
        raise support.card_declined(declined)
    if pm is None:
        payment = {"type": "payment_record", "payment_record": f"pr_{secrets.token_hex(12)}",
                   "payment_intent": None, "charge": None}
        inv["amount_paid_off_stripe"] = (inv.get("amount_paid_off_stripe") or 0) + due
    else:
        intent = create(ctx, "payment_intent", **_finalization_intent(inv), amount=due, amount_received=due,
                        currency=inv["currency"],
                        customer=inv["customer"], payment_method=pm["id"], status="succeeded", metadata={})
        payment = {"type": "payment_intent", "payment_intent": intent["id"], "payment_record": None, "charge": None}
    if due > 0:
        _record_payment(ctx, inv, due, payment)
    _mark_paid(inv, t)
    return inv


@handles("SendInvoice")
def send_invoice(ctx: Context) -> dict:
    inv = _invoice(ctx)
    require("invoice", "send", inv)  # send_invoice only; a paid invoice may be sent again (rules invoice.send*)
    if inv["status"] == "draft":
        finalize(ctx, inv)
        return inv
    inv["webhooks_delivered_at"] = now()
    return inv


def _move(ctx: Context, action: str, stamp: str) -> dict:
    """The path's invoice moved by `action` as the rules table allows (else its 400), the time of the move
    recorded in ``status_transitions[stamp]`` (Unix seconds)."""
    inv = _invoice(ctx)
    inv["status"] = require("invoice", action, inv)
    inv["status_transitions"][stamp] = now()
    return inv


@handles("VoidInvoice")
def void_invoice(ctx: Context) -> dict:
    return _move(ctx, "void", "voided_at")


@handles("MarkInvoiceUncollectible")
def mark_uncollectible(ctx: Context) -> dict:
    return _move(ctx, "mark_uncollectible", "marked_uncollectible_at")


@handles("AttachInvoicePayment")
def attach_payment(ctx: Context) -> dict:
    inv = _invoice(ctx)
    p = ctx.params
    if p.get("payment_record"):
        raise no_such("payment record", p["payment_record"], param="payment_record")
    intent = reference(ctx, "payment_intent", "payment_intent")
    if intent is None:
        raise ApiError(400, "Missing required param: payment_intent.", code="parameter_missing",
                       param="payment_intent")
    if inv["status"] not in ("draft", "open", "uncollectible"):
        raise bad_state(f"This invoice is {inv['status']}; payments can't be attached to it.")
    if intent["currency"] != inv["currency"]:
        raise ApiError(400, "The payment intent's currency does not match the invoice's.", code="parameter_invalid",
                       param="payment_intent")
    if any(pay["payment"]["payment_intent"] == intent["id"]
           for pay in ctx.account.collection("invoice_payment").scan()):
        raise ApiError(400, "This payment intent is already attached to an invoice.", code="parameter_invalid",
                       param="payment_intent")
    succeeded = intent["status"] == "succeeded"
    if succeeded and intent["amount"] > inv["amount_remaining"]:  # checked before finalizing: a 400 changes nothing
        raise ApiError(400, f"The payment intent's amount ({intent['amount']}) exceeds the invoice's "
                            f"amount_remaining ({inv['amount_remaining']}).", code="parameter_invalid",
                       param="payment_intent")
    if inv["status"] == "draft":
        finalize(ctx, inv)
    payment = {"type": "payment_intent", "payment_intent": intent["id"], "payment_record": None, "charge": None}
    _record_payment(ctx, inv, intent["amount"], payment, "paid" if succeeded else "open")
    if succeeded:
        inv["amount_paid"] += intent["amount"]
        inv["amount_remaining"] = inv["amount_due"] - inv["amount_paid"]
        if inv["amount_remaining"] == 0:
            _mark_paid(inv, now())
    return inv


# -- preview and search -------------------------------------------------------------------------------------


@handles("CreateInvoicePreview")
def create_preview(ctx: Context) -> dict:
    p = ctx.params
    for name in ("subscription", "schedule"):
        if p.get(name):
            raise no_such(name, p[name], param=name)
    customer = reference(ctx, "customer", "customer")
    if customer is None and not p.get("invoice_items"):
        raise ApiError(400, "Provide a customer or invoice_items to preview an invoice.", code="parameter_missing",
                       param="customer")
    currency = (p.get("currency") or "usd").lower()
    inv = _new_invoice(ctx, customer, currency)
    inv["id"] = f"upcoming_{inv['id']}"
    inv["billing_reason"] = "upcoming"
    if "automatic_tax" in p or "issuer" in p:
        _apply_fields(ctx, inv, {k: p[k] for k in ("automatic_tax", "issuer") if k in p})
    lines = []
    if customer is not None:
        pending = [i for i in ctx.account.collection("invoiceitem").scan()
                   if i["invoice"] is None and i["customer"] == customer["id"] and i["currency"] == currency]
        lines = [billing.line_for(ctx, dict(item), inv) for item in reversed(pending)]
    for n, spec in enumerate(p.get("invoice_items") or []):
        prefix = f"invoice_items[{n}]"
        if spec.get("invoiceitem"):
            item = dict(fetch(ctx, "invoiceitem", spec["invoiceitem"], f"{prefix}[invoiceitem]"))
        else:
            item = billing.new_item(ctx, spec, (customer or {}).get("id", ""), spec.get("currency") or currency,
                                    None, prefix)
        lines.append(billing.line_for(ctx, item, inv))
    for line in lines:
        line["invoice"] = None
    billing.set_amounts(inv, lines)
    inv["lines"] = {"object": "list", "data": lines[: billing.EMBEDDED_LINES],
                    "has_more": len(lines) > billing.EMBEDDED_LINES, "url": f"/v1/invoices/{inv['id']}/lines"}
    return inv


@handles("SearchInvoices")
def search_invoices(ctx: Context) -> dict:
    try:
        query = parse(ctx.params["query"])
    except QuerySyntaxError as exc:
        raise ApiError(400, str(exc), code="parameter_invalid", param="query") from exc
    limit = ctx.params.get("limit", 10)
    coll = ctx.account.collection("invoice")
    start = None
    if ctx.params.get("page"):
        start = _decode_page(ctx.params["page"], coll)
    found = []
    for inv in coll.newest_first(start):
        if query.matches(inv):
            found.append(inv)
            if len(found) > limit:
                break
    data = found[:limit]
    has_more = len(found) > limit
    next_page = _encode_page(data[-1]["id"]) if has_more else None
    result = {"object": "search_result", "data": data, "has_more": has_more, "next_page": next_page,
              "url": "/v1/invoices/search"}
    if "total_count" in (ctx.params.get("expand") or ()):  # includable: counted only when asked for
        result["total_count"] = sum(1 for inv in coll.newest_first() if query.matches(inv))
    return result


def _encode_page(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def _decode_page(token: str, coll: object) -> int:
    try:
        last_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return coll.position[last_id]  # type: ignore[attr-defined]
    except (ValueError, KeyError, UnicodeDecodeError):
        raise ApiError(400, "Invalid page: use the next_page value of a previous search result.",
                       code="parameter_invalid", param="page") from None
