"""The `relation` rows of the rules table, as code: what every invoice, line item and invoice item must satisfy.

`contracts/rules.yaml` states each relation and its Stripe source; this module holds one small function per row
(the registry `RELATIONS`, keyed by rule id; a test checks it matches the table). `violations(body)` walks any
response body, finds every such object at any depth (a retrieved invoice, a list's items, the `lines` embedded in
an invoice, an expanded `invoice` of an invoice payment...) and returns each relation it breaks.

A relation applies only where its inputs are unambiguous: `subtotal` is compared with the lines only when every
line is embedded and none carries a discount, `total` with `total_excluding_tax` only when shipping has no tax of
its own, and so on (each function says when). Amounts are integers in the currency's smallest unit (cents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.rules import Rule, load_rules

Check = Callable[[dict], "str | None"]  # None: the relation holds (or does not apply); else what is wrong


@dataclass(frozen=True)
class Violation:
    rule: Rule
    path: str  # where the object sits in the body ("", "data[3]", "lines.data[0]", ...)
    object_id: str
    detail: str


def _sum(items: Any, key: str = "amount", where: Callable[[dict], bool] | None = None) -> int:
    return sum(i.get(key) or 0 for i in (items or []) if isinstance(i, dict) and (where is None or where(i)))


def _has(items: Any) -> bool:
    return bool(items)


def _ints(obj: dict, *names: str) -> bool:
    return all(isinstance(obj.get(n), int) and not isinstance(obj.get(n), bool) for n in names)


# -- invoices -------------------------------------------------------------------------------------------------------


def _subtotal(inv: dict) -> str | None:
    lines = inv.get("lines")
    if not isinstance(lines, dict) or lines.get("has_more") is not False or not _ints(inv, "subtotal"):
        return None
    data = [x for x in lines.get("data") or [] if isinstance(x, dict)]
    if any(_has(x.get("discount_amounts")) or _has(x.get("pretax_credit_amounts")) or not _ints(x, "amount")
           for x in data):
        return None
    total = sum(x["amount"] for x in data)
    if inv["subtotal"] == total:
        return None
    return f"subtotal {inv['subtotal']} != sum of {len(data)} line amounts {total}"


def _subtotal_excluding_tax(inv: dict) -> str | None:
    if _has(inv.get("total_taxes")) or not _ints(inv, "subtotal", "subtotal_excluding_tax"):
        return None
    if inv["subtotal_excluding_tax"] == inv["subtotal"]:
        return None
    return f"subtotal_excluding_tax {inv['subtotal_excluding_tax']} != subtotal {inv['subtotal']} (no taxes)"


def _total(inv: dict) -> str | None:
    shipping = inv.get("shipping_cost")
    if (isinstance(shipping, dict) and _has(shipping.get("taxes"))) or not _ints(inv, "total", "total_excluding_tax"):
        return None
    taxes = _sum(inv.get("total_taxes"))
    if inv["total"] == inv["total_excluding_tax"] + taxes:
        return None
    return f"total {inv['total']} != total_excluding_tax {inv['total_excluding_tax']} + taxes {taxes}"


def _total_excluding_tax(inv: dict) -> str | None:
    if _has(inv.get("total_discount_amounts")) or _has(inv.get("total_pretax_credit_amounts")) \
            or not _ints(inv, "total_excluding_tax", "subtotal_excluding_tax"):
        return None
    shipping = inv.get("amount_shipping") or 0
    if inv["total_excluding_tax"] == inv["subtotal_excluding_tax"] + shipping:
        return None
    return (f"total_excluding_tax {inv['total_excluding_tax']} != subtotal_excluding_tax "
            f"{inv['subtotal_excluding_tax']} + amount_shipping {shipping} (no discounts)")


def _amount_shipping(inv: dict) -> str | None:
    if not _ints(inv, "amount_shipping"):
        return None
    shipping = inv.get("shipping_cost")
    if shipping is None:
        expected = 0
    elif isinstance(shipping, dict) and _ints(shipping, "amount_subtotal"):
        expected = shipping["amount_subtotal"]
    else:
        return None
    if inv["amount_shipping"] == expected:
        return None
    return f"amount_shipping {inv['amount_shipping']} != shipping_cost.amount_subtotal {expected}"


def _amount_due(inv: dict) -> str | None:
    if not _ints(inv, "amount_due", "total", "starting_balance") or (inv.get("pre_payment_credit_notes_amount") or 0):
        return None
    total, start, due = inv["total"], inv["starting_balance"], inv["amount_due"]
    if inv.get("ending_balance") is None:
        expected = max(total + start, 0)
        if due in (expected, 0):  # 0: below the minimum charge, or credit applied
            return None
        return f"amount_due {due} != max(total {total} + starting_balance {start}, 0) = {expected}"
    if not _ints(inv, "ending_balance"):
        return None
    expected = total + start - inv["ending_balance"]
    if due == expected:
        return None
    return (f"amount_due {due} != total {total} + starting_balance {start} - ending_balance "
            f"{inv['ending_balance']} = {expected}")


def _amount_remaining(inv: dict) -> str | None:
    if not _ints(inv, "amount_remaining", "amount_due", "amount_paid"):
        return None
    expected = max(inv["amount_due"] - inv["amount_paid"], 0)
    if inv["amount_remaining"] == expected:
        return None
    return (f"amount_remaining {inv['amount_remaining']} != amount_due {inv['amount_due']} - amount_paid "
            f"{inv['amount_paid']}")


def _paid_in_full(inv: dict) -> str | None:
    if inv.get("status") != "paid" or not _ints(inv, "amount_remaining", "amount_due", "amount_paid"):
        return None
    if inv["amount_remaining"] == 0 and inv["amount_paid"] >= inv["amount_due"]:
        return None
    return (f"a paid invoice has amount_paid {inv['amount_paid']}, amount_due {inv['amount_due']}, "
            f"amount_remaining {inv['amount_remaining']}")


def _ending_balance(inv: dict) -> str | None:
    if inv.get("status") != "draft" or inv.get("ending_balance") is None:
        return None
    return f"a draft has ending_balance {inv['ending_balance']} (null until finalized)"


def _due_date(inv: dict) -> str | None:
    if inv.get("collection_method") != "charge_automatically" or inv.get("due_date") is None:
        return None
    return f"a charge_automatically invoice has due_date {inv['due_date']} (null for that collection method)"


# -- lines and items ------------------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _is_proration(obj: dict) -> bool:
    if obj.get("proration"):
        return True
    parent = obj.get("parent") or {}
    details = [parent.get("invoice_item_details"), parent.get("subscription_item_details")] \
        if isinstance(parent, dict) else []
    return any(isinstance(d, dict) and d.get("proration") for d in details)


def _line_amount(obj: dict) -> str | None:
    pricing = obj.get("pricing")
    unit = _decimal(pricing.get("unit_amount_decimal")) if isinstance(pricing, dict) else None
    quantity = _decimal(obj.get("quantity_decimal"))
    if quantity is None:
        quantity = _decimal(obj.get("quantity"))
    if unit is None or quantity is None or not _ints(obj, "amount") or _is_proration(obj):
        return None
    exact = unit * quantity
    if abs(Decimal(obj["amount"]) - exact) < 1:  # Stripe rounds to the cent; either way is within 1
        return None
    return f"amount {obj['amount']} != quantity {quantity} x unit_amount_decimal {unit} = {exact}"


def _line_subtotal(line: dict) -> str | None:
    if _has(line.get("discount_amounts")) or _has(line.get("taxes")) or _has(line.get("pretax_credit_amounts")) \
            or not _ints(line, "amount", "subtotal"):
        return None
    if line["subtotal"] == line["amount"]:
        return None
    return f"subtotal {line['subtotal']} != amount {line['amount']} (no discounts or taxes)"


RELATIONS: dict[str, Check] = {
    "invoice.due_date.null_unless_send_invoice": _due_date,
    "amounts.subtotal": _subtotal,
    "amounts.subtotal_excluding_tax": _subtotal_excluding_tax,
    "amounts.total": _total,
    "amounts.total_excluding_tax": _total_excluding_tax,
    "amounts.amount_shipping": _amount_shipping,
    "amounts.amount_due": _amount_due,
    "amounts.amount_remaining": _amount_remaining,
    "amounts.paid_in_full": _paid_in_full,
    "amounts.ending_balance": _ending_balance,
    "amounts.line_amount": _line_amount,
    "amounts.line_subtotal": _line_subtotal,
}


def _objects(value: Any, kinds: frozenset[str], path: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(value, dict):
        if value.get("object") in kinds and not value.get("deleted"):
            yield path, value
        for key, child in value.items():
            if isinstance(child, (dict, list)):
                yield from _objects(child, kinds, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for n, child in enumerate(value):
            if isinstance(child, (dict, list)):
                yield from _objects(child, kinds, f"{path}[{n}]")


def _rows() -> list[tuple[Rule, Check]]:
    book = load_rules()
    return [(book[rule_id], check) for rule_id, check in RELATIONS.items()]


def violations(body: Any, allowed: Callable[[Rule], bool] | None = None) -> list[Violation]:
    """Every relation broken by any invoice, line item or invoice item in `body`, at any depth.

    :param allowed: which rows to check (e.g. only sourced ones against an external target); default all.
    """
    rows = [(rule, check) for rule, check in _rows() if allowed is None or allowed(rule)]
    kinds = frozenset(k for rule, _ in rows for k in rule.data["objects"])
    out: list[Violation] = []
    for path, obj in _objects(body, kinds):
        for rule, check in rows:
            if obj.get("object") in rule.data["objects"]:
                detail = check(obj)
                if detail is not None:
                    out.append(Violation(rule, path, str(obj.get("id", "")), detail))
    return out
