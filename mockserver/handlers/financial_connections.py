"""Financial Connections: linked accounts (made by a test helper), their transactions, refreshes and sessions.

The real API links accounts through a hosted flow the mock cannot run, so `POST /v1/test_helpers/
financial_connections/accounts` creates a linked account with generated transactions. Transaction refresh IDs
carry a per-account sequence number (`fctxnref_<seq>_<random>`) so `transaction_refresh[after]` has an order;
a transactions refresh brings in one new transaction tagged with the new refresh, which gives that filter
something to find.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError, no_such
from mockserver.handlers.common import create, fetch, list_objects, optional, store
from mockserver.handlers.registry import handles
from mockserver.objects import KINDS, new_object
from mockserver.store import new_id, now

if TYPE_CHECKING:
    from mockserver.context import Context

ACCOUNT = "financial_connections.account"
SESSION = "financial_connections.session"
TRANSACTION = "financial_connections.transaction"
OWNERSHIP = "financial_connections.account_ownership"

DEFAULT_PERMISSIONS = ["transactions", "balances"]
DEFAULT_TRANSACTIONS = 5
SUBCATEGORY = {"cash": "checking", "credit": "credit_card", "investment": "other", "other": "other"}
MERCHANTS = ("Rocket Rides", "Corner Grocery", "City Utilities", "Payroll ACME Corp", "Coffee House",
             "Online Bookstore", "Transit Authority", "Gym Membership", "Pharmacy", "Hardware Store")
HOURS = 3600
# Generated transactions are spread over the past days, newest a minute ago, each a few hours before the next.
TRANSACTION_SPACING = 7 * HOURS
DEFAULT_SESSION_ACCOUNT_LIMIT = 100


def _new_refresh_id(ctx: Context, account_id: str) -> str:
    seq = ctx.account.next_number(f"fctxnref:{account_id}")
    return f"fctxnref_{seq}_{secrets.token_hex(8)}"


def _transaction(ctx: Context, account_id: str, refresh_id: str, transacted_at: int) -> dict:
    amount = secrets.randbelow(49_900) + 100
    credit = secrets.randbelow(5) == 0  # mostly money out, sometimes in
    return create(ctx, TRANSACTION, account=account_id, amount=amount if credit else -amount, currency="usd",
                  description=secrets.choice(MERCHANTS), status="posted",
                  status_transitions={"posted_at": min(transacted_at + HOURS, now()), "void_at": None},
                  transacted_at=transacted_at, transaction_refresh=refresh_id, updated=now())


def _generate_transactions(ctx: Context, account_id: str, refresh_id: str, count: int) -> None:
    """`count` transactions with distinct transacted_at, stored oldest first so that lists show newest first."""
    newest = now() - 60 - HOURS  # posted an hour after being transacted: still in the past
    times = []
    for n in range(count):
        times.append(newest - n * TRANSACTION_SPACING - secrets.randbelow(TRANSACTION_SPACING // 2))
    for transacted_at in reversed(times):
        _transaction(ctx, account_id, refresh_id, transacted_at)


def _refreshed(status: str = "succeeded") -> dict:
    return {"last_attempted_at": now(), "next_refresh_available_at": None, "status": status}


def _balance(category: str) -> dict:
    current = secrets.randbelow(5_000_000) + 10_000
    if category == "credit":
        return {"as_of": now(), "current": {"usd": -current}, "type": "credit", "cash": None,
                "credit": {"used": {"usd": current}}}
    return {"as_of": now(), "current": {"usd": current}, "type": "cash",
            "cash": {"available": {"usd": current}}, "credit": None}


@handles("TestHelperCreateFinancialConnectionsAccount")
def create_account(ctx: Context) -> dict:
    """A linked account as if the hosted flow had just finished, with its first transaction refresh done."""
    p = ctx.params
    customer_id = optional(p, "customer")
    if customer_id is not None and ctx.account.collection("customer").get(customer_id) is None:
        raise no_such("customer", customer_id, param="customer")
    category = optional(p, "category") or "cash"
    permissions = list(dict.fromkeys(p.get("permissions") or DEFAULT_PERMISSIONS))
    count = p.get("transactions", DEFAULT_TRANSACTIONS)
    account_id = new_id(KINDS[ACCOUNT][0])
    account: dict[str, Any] = {
        "id": account_id,
        "account_holder": {"type": "customer", "customer": customer_id, "account": None,
                           "customer_account": None} if customer_id else None,
        "display_name": optional(p, "display_name") or "Sample Checking Account",
        "institution_name": optional(p, "institution_name") or "StripeBank",
        "category": category, "subcategory": SUBCATEGORY[category], "status": "active",
        "last4": f"{secrets.randbelow(10_000):04d}", "permissions": permissions, "subscriptions": [],
        "supported_payment_method_types": ["link", "us_bank_account"] if category == "cash" else ["link"],
        "account_numbers": None, "ownership": None, "ownership_refresh": None,
        "balance": None, "balance_refresh": None, "transaction_refresh": None,
    }
    if "balances" in permissions:
        account.update(balance=_balance(category), balance_refresh=_refreshed())
    if "transactions" in permissions:
        refresh_id = _new_refresh_id(ctx, account_id)
        account["transaction_refresh"] = {"id": refresh_id, **_refreshed()}
        _generate_transactions(ctx, account_id, refresh_id, count)
    if "ownership" in permissions:
        account.update(ownership=_ownership(ctx, account_id), ownership_refresh=_refreshed())
    return create(ctx, ACCOUNT, **account)


def _ownership(ctx: Context, account_id: str) -> str:
    """A new ownership record of the account (kept, so `expand[]=ownership` finds it whole): one test owner."""
    ownership = new_object(ctx, OWNERSHIP)
    owner = {"id": new_id("fcaown"), "object": "financial_connections.account_owner", "email": "jenny@example.com",
             "name": "Jenny Rosen", "ownership": ownership["id"], "phone": "+15555550100",
             "raw_address": "1234 Main St, San Francisco, CA 94111", "refreshed_at": ownership["created"]}
    ownership["owners"] = {"object": "list", "data": [owner], "has_more": False,
                           "url": f"/v1/financial_connections/accounts/{account_id}/owners"}
    return store(ctx, OWNERSHIP, ownership)["id"]


@handles("RefreshFinancialConnectionsAccount")
def refresh_account(ctx: Context) -> dict:
    account = fetch(ctx, ACCOUNT)
    if account["status"] != "active":
        raise ApiError(400, f"Account '{account['id']}' is {account['status']}: only active accounts can be "
                            "refreshed.", code="account_invalid")
    features = list(dict.fromkeys(ctx.params["features"]))
    for feature in features:
        if feature == "balance":
            account["balance"] = _balance(account["category"])
            account["balance_refresh"] = _refreshed()
        elif feature == "ownership":
            account["ownership"] = _ownership(ctx, account["id"])
            account["ownership_refresh"] = _refreshed()
        elif feature == "transactions":
            refresh_id = _new_refresh_id(ctx, account["id"])
            _transaction(ctx, account["id"], refresh_id, now() - 60)
            account["transaction_refresh"] = {"id": refresh_id, **_refreshed()}
    return account


def _set_subscriptions(ctx: Context, subscribe: bool) -> dict:
    account = fetch(ctx, ACCOUNT)
    current = list(account.get("subscriptions") or [])
    for feature in dict.fromkeys(ctx.params["features"]):
        if subscribe and feature not in current:
            current.append(feature)
        elif not subscribe and feature in current:
            current.remove(feature)
    account["subscriptions"] = current
    return account


@handles("SubscribeFinancialConnectionsAccount")
def subscribe_account(ctx: Context) -> dict:
    return _set_subscriptions(ctx, subscribe=True)


@handles("UnsubscribeFinancialConnectionsAccount")
def unsubscribe_account(ctx: Context) -> dict:
    return _set_subscriptions(ctx, subscribe=False)


# -- sessions ------------------------------------------------------------------------------------------------


def _account_holder(ctx: Context, holder: dict) -> dict:
    kind = holder["type"]
    out = {"type": kind, "account": None, "customer": None, "customer_account": None}
    if kind == "customer":
        customer_id = optional(holder, "customer")
        if customer_id is None:
            raise ApiError(400, "Missing required param: account_holder[customer].", code="parameter_missing",
                           param="account_holder[customer]")
        if ctx.account.collection("customer").get(customer_id) is None:
            raise no_such("customer", customer_id, param="account_holder[customer]")
        out["customer"] = customer_id
    else:
        account_id = optional(holder, "account")
        if account_id is None:
            raise ApiError(400, "Missing required param: account_holder[account].", code="parameter_missing",
                           param="account_holder[account]")
        out["account"] = account_id
    out["customer_account"] = optional(holder, "customer_account")
    return out


@handles("CreateFinancialConnectionsSession")
def create_session(ctx: Context) -> dict:
    p = ctx.params
    holder = _account_holder(ctx, p["account_holder"])
    filters_in = p.get("filters") or {}
    filters = None
    if filters_in:
        filters = {"account_subcategories": filters_in.get("account_subcategories") or None,
                   "country": optional(filters_in, "country"),
                   "require_payment_method_support": optional(filters_in, "require_payment_method_support")}
    limit = (p.get("limits") or {}).get("accounts", "")
    if limit != "" and not 1 <= limit <= DEFAULT_SESSION_ACCOUNT_LIMIT:
        raise ApiError(400, f"limits[accounts] must be between 1 and {DEFAULT_SESSION_ACCOUNT_LIMIT}.",
                       code="parameter_invalid_integer", param="limits[accounts]")
    manual_mode = optional(p.get("manual_entry") or {}, "mode") or "automatic"
    session_id = new_id(KINDS[SESSION][0])
    return create(
        ctx, SESSION, id=session_id, account_holder=holder,
        accounts={"object": "list", "data": [], "has_more": False, "url": "/v1/financial_connections/accounts"},
        client_secret=f"fcsess_client_secret_{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}",
        filters=filters, limits={"accounts": DEFAULT_SESSION_ACCOUNT_LIMIT if limit == "" else limit},
        manual_entry={"mode": manual_mode}, permissions=list(dict.fromkeys(p["permissions"])),
        prefetch=list(dict.fromkeys(p.get("prefetch") or [])), return_url=optional(p, "return_url"),
        bank_account_token=None,
    )


# -- transactions --------------------------------------------------------------------------------------------


@handles("ListFinancialConnectionsTransactions")
def list_transactions(ctx: Context) -> dict:
    account_id = ctx.params["account"]
    if ctx.account.collection(ACCOUNT).get(account_id) is None:
        raise no_such("financial connections account", account_id, param="account")
    return list_objects(ctx, TRANSACTION)


