"""Invoice arithmetic and the item <-> line relation, shared by the invoice and invoice item handlers.

One invoice item is one line of the invoice it is attached to. Amounts follow DESIGN §5: `subtotal` is the sum of
line amounts, `amount_due` is the (non-negative) total, `amount_remaining = amount_due - amount_paid`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from mockserver.errors import ApiError
from mockserver.handlers.common import new_object
from mockserver.store import Collection, now

if TYPE_CHECKING:
    from mockserver.app import Context

EMBEDDED_LINES = 10
MAX_LINES = 250


def lines_of(ctx: Context, invoice_id: str) -> Collection:
    """An invoice's lines, in the order they were added."""
    return ctx.account.collection(f"line_item:{invoice_id}")


def amount_from(params: dict, param_prefix: str = "") -> tuple[int, int | None, str | None]:
    """(amount, quantity, unit_amount_decimal) of an item or line from `amount` or `price_data` or `pricing`."""
    quantity = params.get("quantity")
    if params.get("amount") not in (None, ""):
        return params["amount"], quantity, None
    price_data = params.get("price_data")
    if price_data:
        qty = 1 if quantity is None else quantity
        if price_data.get("unit_amount") is not None:
            return price_data["unit_amount"] * qty, qty, str(price_data["unit_amount"])
        if price_data.get("unit_amount_decimal") not in (None, ""):
            try:
                unit = Decimal(price_data["unit_amount_decimal"])
            except InvalidOperation:
                raise ApiError(400, "Invalid decimal: unit_amount_decimal", code="parameter_invalid",
                               param=f"{param_prefix}price_data[unit_amount_decimal]") from None
            return int((unit * qty).to_integral_value()), qty, price_data["unit_amount_decimal"]
        raise ApiError(400, "Provide price_data[unit_amount] or price_data[unit_amount_decimal].",
                       code="parameter_missing", param=f"{param_prefix}price_data[unit_amount]")
    if params.get("pricing", {}).get("price"):
        price = params["pricing"]["price"]
        raise ApiError(400, f"No such price: '{price}'", code="resource_missing",
                       param=f"{param_prefix}pricing[price]")
    raise ApiError(400, "Provide one of amount, price_data or pricing.", code="parameter_missing",
                   param=f"{param_prefix}amount")


def check_period(period: dict | None, param_prefix: str = "") -> dict:
    if not period:
        t = now()
        return {"start": t, "end": t}
    if period["end"] < period["start"]:
        raise ApiError(400, "The period end must be at or after the period start.", code="parameter_invalid",
                       param=f"{param_prefix}period[end]")
    return {"start": period["start"], "end": period["end"]}


def line_id(item: dict) -> str:
    """The ID of the line that shows an item: derived from the item's ID, so no mapping is stored."""
    return "il_" + item["id"].split("_", 1)[1]


def _unit_amount(item: dict) -> Decimal | None:
    pricing = item.get("pricing") or {}
    unit = pricing.get("unit_amount_decimal")
    return Decimal(unit) if unit not in (None, "") else None


def apply_pricing(item: dict, params: dict, param_prefix: str = "") -> None:
    """Set amount, quantity and pricing on an item from request params (create or update)."""
    touches_price = any(k in params for k in ("amount", "price_data", "pricing", "quantity", "unit_amount_decimal"))
    if not touches_price:
        return
    merged = dict(params)
    if not any(k in params for k in ("amount", "price_data", "pricing")):
        unit = _unit_amount(item)
        if unit is None:  # quantity alone on an amount-only item: the amount stays
            item["quantity"] = params["quantity"]
            return
        merged["price_data"] = {"unit_amount_decimal": str(unit), "currency": item["currency"],
                                "product": item["pricing"]["price_details"]["product"]}
    amount, quantity, unit = amount_from(merged, param_prefix)
    item["amount"] = amount
    item["quantity"] = 1 if quantity is None else quantity
    if merged.get("price_data"):
        product = merged["price_data"].get("product")
        item["pricing"] = {"type": "price_details", "price_details": {"price": "price_inline", "product":
                           product or "prod_inline"}, "unit_amount_decimal": unit}
    else:
        item["pricing"] = None


def new_item(ctx: Context, params: dict, customer: str, currency: str, invoice_id: str | None,
             param_prefix: str = "") -> dict:
    item = new_object(ctx, "invoiceitem", customer=customer, currency=currency, invoice=invoice_id,
                      date=now(), discountable=params.get("discountable", True),
                      description=params.get("description") or None,
                      metadata=dict(params.get("metadata") or {}),
                      period=check_period(params.get("period"), param_prefix),
                      quantity_decimal=None)
    item["metadata"] = {k: v for k, v in item["metadata"].items() if v != ""}
    apply_pricing(item, params, param_prefix)
    if "amount" not in params and not params.get("price_data") and not params.get("pricing"):
        amount_from(params, param_prefix)  # raises the "provide one of" error
    item["quantity_decimal"] = str(item["quantity"])
    return item


def line_for(ctx: Context, item: dict, invoice: dict) -> dict:
    """The line item that shows `item` on `invoice`."""
    line = new_object(ctx, "line_item", id=line_id(item))
    sync_line(line, item, invoice)
    return line


def sync_line(line: dict, item: dict, invoice: dict) -> None:
    line.update(
        amount=item["amount"], subtotal=item["amount"], currency=item["currency"], description=item["description"],
        discountable=item["discountable"], invoice=invoice["id"], metadata=dict(item.get("metadata") or {}),
        period=dict(item["period"]), quantity=item["quantity"], quantity_decimal=str(item["quantity"]),
        pricing=item.get("pricing"), discount_amounts=[], discounts=[], pretax_credit_amounts=[], taxes=[],
        parent={"type": "invoice_item_details", "subscription_item_details": None,
                "invoice_item_details": {"invoice_item": item["id"], "proration": False,
                                         "proration_details": {"credited_items": None}, "subscription": None}},
    )


def attach(ctx: Context, item: dict, invoice: dict) -> dict:
    """Put a (pending) item on a draft invoice as a new line."""
    lines = lines_of(ctx, invoice["id"])
    if len(lines) >= MAX_LINES:
        raise ApiError(400, f"An invoice can have at most {MAX_LINES} line items.", code="parameter_invalid",
                       param="lines")
    item["invoice"] = invoice["id"]
    line = line_for(ctx, item, invoice)
    lines.add(line)
    return line


def detach(ctx: Context, item: dict) -> None:
    """Take an item's line off its invoice (the item becomes pending)."""
    if item.get("invoice"):
        lines_of(ctx, item["invoice"]).remove(line_id(item))
    item["invoice"] = None


def item_of_line(ctx: Context, line: dict) -> dict:
    item_id = line["parent"]["invoice_item_details"]["invoice_item"]
    return ctx.account.collection("invoiceitem").objects[item_id]


def recompute(ctx: Context, invoice: dict) -> dict:
    """Amounts and the embedded `lines` page from the invoice's current lines."""
    if invoice["id"].startswith("upcoming_"):
        return invoice
    lines = list(lines_of(ctx, invoice["id"]).oldest_first(-1))
    set_amounts(invoice, lines)
    invoice["lines"] = {"object": "list", "data": [dict(line) for line in lines[:EMBEDDED_LINES]],
                        "has_more": len(lines) > EMBEDDED_LINES, "url": f"/v1/invoices/{invoice['id']}/lines",
                        "total_count": len(lines)}
    return invoice


def set_amounts(invoice: dict, lines: list[dict]) -> None:
    subtotal = sum(line["amount"] for line in lines)
    total = subtotal + invoice.get("amount_shipping", 0)
    invoice.update(subtotal=subtotal, subtotal_excluding_tax=subtotal, total_excluding_tax=total, total=total)
    if invoice["status"] in (None, "draft"):
        invoice["amount_due"] = max(total - invoice.get("starting_balance", 0), 0)
    invoice["amount_remaining"] = invoice["amount_due"] - invoice["amount_paid"]


def require_draft(invoice: dict, action: str) -> None:
    if invoice["status"] != "draft":
        raise ApiError(400, f"You can only {action} a draft invoice; this invoice is {invoice['status']}.",
                       code="invoice_not_editable")

