"""Invoice items, the lines they make on draft invoices, and invoice payments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver import billing
from mockserver.errors import ApiError, no_such
from mockserver.handlers.common import fetch, merge_metadata, reference
from mockserver.handlers.registry import handles
from mockserver.listing import page

if TYPE_CHECKING:
    from mockserver.context import Context

ITEM_FIELDS = ("description", "discountable", "tax_rates", "tax_code", "tax_behavior")


def _editable_item(ctx: Context, item: dict, action: str) -> dict | None:
    """The draft invoice an item sits on (None when pending); a 400 when that invoice is finalized."""
    if item.get("invoice") is None:
        return None
    inv = fetch(ctx, "invoice", item["invoice"])
    if inv["status"] != "draft":
        raise ApiError(400, f"You can't {action} an invoice item on a finalized invoice ({inv['status']}).",
                       code="invoice_not_editable")
    return inv


def _update_item(ctx: Context, item: dict, params: dict, prefix: str = "") -> None:
    if "period" in params:
        item["period"] = billing.check_period(params["period"], prefix)
    billing.apply_pricing(item, params, prefix)
    for name in ("description", "discountable"):
        if name in params:
            item[name] = None if params[name] == "" else params[name]
    if "metadata" in params:
        param = billing.param_path(prefix, "metadata")
        item["metadata"] = merge_metadata(item.get("metadata"), params["metadata"], param)


def _refresh(ctx: Context, item: dict, inv: dict | None) -> None:
    if inv is None:
        return
    line = billing.lines_of(ctx, inv["id"]).get(billing.line_id(item))
    if line is not None:
        billing.sync_line(line, item, inv)
    billing.recompute(ctx, inv)


@handles("CreateInvoiceItem")
def create_item(ctx: Context) -> dict:
    p = ctx.params
    inv = reference(ctx, "invoice", "invoice")
    customer = reference(ctx, "customer", "customer")
    if inv is not None:
        if inv["status"] != "draft":
            raise ApiError(400, f"You can only add invoice items to draft invoices; this invoice is {inv['status']}.",
                           code="invoice_not_editable", param="invoice")
        if customer is not None and customer["id"] != inv["customer"]:
            raise ApiError(400, "The invoice belongs to another customer.", code="parameter_invalid",
                           param="customer")
        customer_id = inv["customer"]
    elif customer is not None:
        customer_id = customer["id"]
    else:
        raise ApiError(400, "Missing required param: customer.", code="parameter_missing", param="customer")
    currency = (p.get("currency") or (inv or {}).get("currency") or "usd").lower()
    if inv is not None and currency != inv["currency"]:
        raise ApiError(400, f"The currency {currency} does not match the invoice's ({inv['currency']}).",
                       code="parameter_invalid", param="currency")
    item = billing.new_item(ctx, p, customer_id, currency, None)
    ctx.account.collection("invoiceitem").add(item)
    if inv is not None:
        billing.attach(ctx, item, inv)
        billing.recompute(ctx, inv)
    return item


@handles("UpdateInvoiceItem")
def update_item(ctx: Context) -> dict:
    item = fetch(ctx, "invoiceitem")
    inv = _editable_item(ctx, item, "update")
    _update_item(ctx, item, ctx.params)
    _refresh(ctx, item, inv)
    return item


@handles("DeleteInvoiceItem")
def delete_item(ctx: Context) -> dict:
    item = fetch(ctx, "invoiceitem")
    inv = _editable_item(ctx, item, "delete")
    billing.detach(ctx, item)
    ctx.account.collection("invoiceitem").remove(item["id"])
    if inv is not None:
        billing.recompute(ctx, inv)
    return {"id": item["id"], "object": "invoiceitem", "deleted": True}


# -- lines ------------------------------------------------------------------------------------------------------


def _draft(ctx: Context, action: str) -> dict:
    inv = fetch(ctx, "invoice", ctx.path["invoice"])
    billing.require_draft(inv, action)
    return inv


def _line(ctx: Context, inv: dict, line_id: str, param: str) -> dict:
    line = billing.lines_of(ctx, inv["id"]).get(line_id)
    if line is None:
        raise no_such(f"line item on invoice {inv['id']}", line_id, param=param,
                      status=404 if param == "line_item_id" else 400)
    return line


def _invoice_metadata(inv: dict, params: dict) -> None:
    if "invoice_metadata" in params:
        inv["metadata"] = merge_metadata(inv.get("metadata"), params["invoice_metadata"], "invoice_metadata")


@handles("AddInvoiceLines")
def add_lines(ctx: Context) -> dict:
    inv = _draft(ctx, "add lines to")
    staged: list[tuple[dict | None, dict]] = []  # (stored pending item or None, its new state)
    for n, spec in enumerate(ctx.params["lines"]):
        prefix = f"lines[{n}]"
        if spec.get("invoice_item"):
            stored = fetch(ctx, "invoiceitem", spec["invoice_item"], f"{prefix}[invoice_item]")
            if stored["invoice"] is not None or stored["customer"] != inv["customer"] \
                    or stored["currency"] != inv["currency"]:
                raise ApiError(400, "Only pending invoice items of the invoice's customer and currency can be added.",
                               code="parameter_invalid", param=f"{prefix}[invoice_item]")
            if any(old is stored for old, _ in staged):  # twice in one request would make two lines of one item
                raise ApiError(400, f"Invoice item '{stored['id']}' appears more than once in lines.",
                               code="parameter_invalid", param=f"{prefix}[invoice_item]")
            item = dict(stored)
            _update_item(ctx, item, {k: v for k, v in spec.items() if k != "invoice_item"}, prefix)
            staged.append((stored, item))
        else:
            currency = ((spec.get("price_data") or {}).get("currency") or inv["currency"]).lower()
            if currency != inv["currency"]:
                raise ApiError(400, "The line's currency does not match the invoice's.", code="parameter_invalid",
                               param=f"{prefix}[price_data][currency]")
            staged.append((None, billing.new_item(ctx, spec, inv["customer"], inv["currency"], None, prefix)))
    if len(billing.lines_of(ctx, inv["id"])) + len(staged) > billing.MAX_LINES:
        raise ApiError(400, f"An invoice can have at most {billing.MAX_LINES} line items.", code="parameter_invalid",
                       param="lines")
    _invoice_metadata(inv, ctx.params)
    items = ctx.account.collection("invoiceitem")
    for stored, item in staged:  # everything validated: apply
        if stored is None:
            stored = items.add(item)
        else:
            stored.update(item)
        billing.attach(ctx, stored, inv)
    return billing.recompute(ctx, inv)


@handles("UpdateInvoiceLines")
def update_lines(ctx: Context) -> dict:
    inv = _draft(ctx, "update lines of")
    targets = [(_line(ctx, inv, spec["id"], f"lines[{n}][id]"), spec, n)
               for n, spec in enumerate(ctx.params["lines"])]
    staged = []
    for line, spec, n in targets:  # validate every line on a copy before changing any
        item = dict(billing.item_of_line(ctx, line))
        _update_item(ctx, item, {k: v for k, v in spec.items() if k != "id"}, f"lines[{n}]")
        staged.append(item)
    _invoice_metadata(inv, ctx.params)
    for item in staged:
        ctx.account.collection("invoiceitem").get(item["id"]).update(item)  # type: ignore[union-attr]
        _refresh(ctx, item, inv)
    return billing.recompute(ctx, inv)


@handles("RemoveInvoiceLines")
def remove_lines(ctx: Context) -> dict:
    inv = _draft(ctx, "remove lines from")
    targets = [(_line(ctx, inv, spec["id"], f"lines[{n}][id]"), spec) for n, spec in enumerate(ctx.params["lines"])]
    ids = [spec["id"] for spec in ctx.params["lines"]]
    for n, line_id in enumerate(ids):
        if line_id in ids[:n]:  # removing (deleting) one line twice would touch an item already gone
            raise ApiError(400, f"Line '{line_id}' appears more than once in lines.", code="parameter_invalid",
                           param=f"lines[{n}][id]")
    _invoice_metadata(inv, ctx.params)
    items = ctx.account.collection("invoiceitem")
    for line, spec in targets:
        item = billing.item_of_line(ctx, line)
        billing.detach(ctx, item)
        if spec["behavior"] == "delete":
            items.remove(item["id"])
    return billing.recompute(ctx, inv)


@handles("UpdateInvoiceLine")
def update_line(ctx: Context) -> dict:
    inv = fetch(ctx, "invoice", ctx.path["invoice"])
    line = _line(ctx, inv, ctx.path["line_item_id"], "line_item_id")
    billing.require_draft(inv, "update lines of")
    item = billing.item_of_line(ctx, line)
    staged = dict(item)
    _update_item(ctx, staged, ctx.params)
    item.update(staged)
    _refresh(ctx, item, inv)
    return line


@handles("ListInvoiceLines")
def list_lines(ctx: Context) -> dict:
    inv = fetch(ctx, "invoice", ctx.path["invoice"])
    return page(billing.lines_of(ctx, inv["id"]), ctx.op, ctx.params, ctx.request_path, "line item",
                oldest_first=True)


# -- payments ---------------------------------------------------------------------------------------------------


