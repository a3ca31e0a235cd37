"""Invoice arithmetic and the item <-> line relation, shared by the invoice and invoice item handlers.

One invoice item is one line of the invoice it is attached to. Amounts follow the `amounts.*` rows of the rules
table (contracts/rules.yaml): `subtotal` is the sum of line amounts, `amount_due` the (non-negative) total plus the
starting balance, `amount_remaining = amount_due - amount_paid`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from contracts.bounds import MAX_AMOUNT
from contracts.rules import load_rules
from mockserver.errors import ApiError, no_such
from mockserver.objects import new_object
from mockserver.store import Collection, now

if TYPE_CHECKING:
    from mockserver.context import Context

EMBEDDED_LINES = 10
MAX_LINES = 250


def lines_of(ctx: Context, invoice_id: str) -> Collection:
    """An invoice's lines, in the order they were added."""
    return ctx.account.collection(f"line_item:{invoice_id}")


def param_path(prefix: str, name: str) -> str:
    """`lines[0]` + `period[end]` -> `lines[0][period][end]` (the bracketed path errors name)."""
    if not prefix:
        return name
    head, bracket, rest = name.partition("[")
    return f"{prefix}[{head}]{bracket}{rest}"


def _decimal(value: object, param: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(400, f"Invalid decimal: {value}", code="parameter_invalid", param=param) from None
    if not number.is_finite():
        raise ApiError(400, f"Invalid decimal: {value}", code="parameter_invalid", param=param)
    return number


def amount_from(params: dict, param_prefix: str = "") -> tuple[int, Decimal, str | None]:
    """(amount, quantity, unit amount as a decimal string) of an item or line.

    The amount is `amount` when given (a 400 `parameters_exclusive` when a unit amount or a price is given too:
    Stripe answers "You may only specify one of these parameters: amount, unit_amount"); otherwise
    unit * quantity, the unit coming from `price_data[unit_amount]`, `price_data[unit_amount_decimal]`,
    `unit_amount` or `unit_amount_decimal`; quantity from `quantity_decimal` or `quantity` (default 1).
    `pricing[price]` names a Price, which this mock does not hold.
    """
    if params.get("quantity_decimal") not in (None, ""):
        quantity = _decimal(params["quantity_decimal"], param_path(param_prefix, "quantity_decimal"))
    else:
        quantity = Decimal(params.get("quantity") if params.get("quantity") is not None else 1)
    price_data = params.get("price_data") or {}
    sources = [(price_data, "price_data[unit_amount]", "unit_amount"),
               (price_data, "price_data[unit_amount_decimal]", "unit_amount_decimal"),
               (params, "unit_amount", "unit_amount"), (params, "unit_amount_decimal", "unit_amount_decimal")]
    given = [path for holder, path, key in sources if holder.get(key) not in (None, "")]
    if (params.get("pricing") or {}).get("price"):
        given.append("pricing[price]")
    if params.get("amount") not in (None, "") and given:  # two prices for one item: Stripe takes neither
        raise ApiError(400, f"You may only specify one of these parameters: amount, {given[0]}.",
                       code="parameters_exclusive", param=param_path(param_prefix, given[0]))
    unit = None
    for holder, path, key in sources:
        if holder.get(key) not in (None, ""):
            unit = _decimal(holder[key], param_path(param_prefix, path))
            break
    if params.get("amount") not in (None, ""):
        return params["amount"], quantity, None if unit is None else str(unit)
    if unit is not None:
        amount = int((unit * quantity).to_integral_value())
        if abs(amount) > MAX_AMOUNT:  # derived before anything is stored: refused like a given amount would be
            given = next((name for name in ("quantity_decimal", "quantity") if params.get(name) not in (None, "")),
                         None)
            raise ApiError(400, f"The amount this gives ({unit} x {quantity}) is outside +/-{MAX_AMOUNT}: "
                                "amounts have at most eight digits.", code="amount_too_large",
                           param=param_path(param_prefix, given or "unit_amount_decimal"))
        return amount, quantity, str(unit)
    if price_data:
        raise ApiError(400, "Provide price_data[unit_amount] or price_data[unit_amount_decimal].",
                       code="parameter_missing", param=param_path(param_prefix, "price_data[unit_amount]"))
    if (params.get("pricing") or {}).get("price"):
        price = params["pricing"]["price"]
        raise no_such("price", price, param=param_path(param_prefix, "pricing[price]"))
    raise ApiError(400, "Provide one of amount, price_data, unit_amount_decimal or pricing.",
                   code="parameter_missing", param=param_path(param_prefix, "amount"))


def check_period(period: dict | None, param_prefix: str = "") -> dict:
    if not period:
        t = now()
        return {"start": t, "end": t}
    if period["end"] < period["start"]:
        raise ApiError(400, "The period end must be at or after the period start.", code="parameter_invalid",
                       param=param_path(param_prefix, "period[end]"))
    return {"start": period["start"], "end": period["end"]}


def line_id(item: dict) -> str:
    """The ID of the line that shows an item: derived from the item's ID, so no mapping is stored."""
    return "il_" + item["id"].split("_", 1)[1]


def _unit_amount(item: dict) -> Decimal | None:
    pricing = item.get("pricing") or {}
    unit = pricing.get("unit_amount_decimal")
    return Decimal(unit) if unit not in (None, "") else None


PRICING_FIELDS = ("amount", "price_data", "pricing", "quantity", "quantity_decimal", "unit_amount",
                  "unit_amount_decimal")


def apply_pricing(item: dict, params: dict, param_prefix: str = "") -> None:
    """Set amount, quantity and pricing on an item from request params (create or update)."""
    if not any(k in params for k in PRICING_FIELDS):
        return
    merged = dict(params)
    if not any(params.get(k) not in (None, "") for k in ("amount", "price_data", "pricing", "unit_amount",
                                                          "unit_amount_decimal")):
        unit = _unit_amount(item)
        if unit is None:  # a new quantity on an amount-only item: the amount stays
            merged["amount"] = item["amount"]
        else:
            merged["unit_amount_decimal"] = str(unit)
    amount, quantity, unit_text = amount_from(merged, param_prefix)
    item["amount"] = amount
    item["quantity"] = int(quantity)
    item["quantity_decimal"] = str(quantity)
    if unit_text is None:
        item["pricing"] = None
    else:
        product = (merged.get("price_data") or {}).get("product") or \
            ((item.get("pricing") or {}).get("price_details") or {}).get("product") or "prod_inline"
        item["pricing"] = {"type": "price_details", "price_details": {"price": "price_inline", "product": product},
                           "unit_amount_decimal": unit_text}


def new_item(ctx: Context, params: dict, customer: str, currency: str, invoice_id: str | None,
             param_prefix: str = "") -> dict:
    item = new_object(ctx, "invoiceitem", customer=customer, currency=currency, invoice=invoice_id,
                      date=now(), discountable=params.get("discountable", True),
                      description=params.get("description") or None,
                      metadata=dict(params.get("metadata") or {}),
                      period=check_period(params.get("period"), param_prefix),
                      quantity_decimal=None)
    item["metadata"] = {k: v for k, v in item["metadata"].items() if v != ""}
    amount_from(params, param_prefix)  # an item needs a price: raises the "provide one of" error otherwise
    apply_pricing(item, params, param_prefix)
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
        period=dict(item["period"]), quantity=item["quantity"], quantity_decimal=item["quantity_decimal"],
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
    item = ctx.account.collection("invoiceitem").get(item_id)
    assert item is not None, f"line of a missing item {item_id}"
    return item


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
        # a positive starting_balance (the customer owes money) adds to what is due (rule amounts.amount_due)
        invoice["amount_due"] = max(total + (invoice.get("starting_balance") or 0), 0)
    invoice["amount_remaining"] = invoice["amount_due"] - invoice["amount_paid"]


def require_draft(invoice: dict, action: str) -> None:
    """Line changes are allowed only where the rules table allows them (rule invoice.lines: drafts)."""
    if load_rules().decide("invoice", "lines", invoice["status"]).result is None:
        raise ApiError(400, f"You can only {action} a draft invoice; this invoice is {invoice['status']}.",
                       code="invoice_not_editable")

