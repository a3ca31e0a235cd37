"""The mock's Financial Connections behaviour: helper-made accounts, refresh, subscriptions, sessions, transactions."""

from __future__ import annotations

from mockserver.testing import InProcessClient, fails, ok

HELPER = "/v1/test_helpers/financial_connections/accounts"
ACCOUNTS = "/v1/financial_connections/accounts"
SESSIONS = "/v1/financial_connections/sessions"
TRANSACTIONS = "/v1/financial_connections/transactions"







def new_account(client: InProcessClient, **params: object) -> dict:
    return ok(client.post(HELPER, params), "TestHelperCreateFinancialConnectionsAccount")


def transactions(client: InProcessClient, **params: object) -> dict:
    return ok(client.get(TRANSACTIONS, params), "ListFinancialConnectionsTransactions")


def test_helper_account_defaults(client: InProcessClient) -> None:
    customer = ok(client.post("/v1/customers", {}), "CreateCustomer")
    account = new_account(client, customer=customer["id"], display_name="Main", institution_name="Test Bank")
    assert account["id"].startswith("fca_")
    assert account["account_holder"]["type"] == "customer"
    assert account["account_holder"]["customer"] == customer["id"]
    assert (account["display_name"], account["institution_name"]) == ("Main", "Test Bank")
    assert (account["category"], account["subcategory"], account["status"]) == ("cash", "checking", "active")
    assert sorted(account["permissions"]) == ["balances", "transactions"]
    assert account["subscriptions"] == []
    assert account["balance"]["type"] == "cash" and account["balance"]["current"]["usd"] > 0
    assert account["transaction_refresh"]["id"].startswith("fctxnref_1_")
    listed = transactions(client, account=account["id"], limit=100)
    assert len(listed["data"]) == 5
    expanded = ok(client.post(f"{ACCOUNTS}/{account['id']}/subscribe",
                              {"features": ["transactions"], "expand": ["account_holder.customer"]}),
                  "SubscribeFinancialConnectionsAccount")
    assert expanded["account_holder"]["customer"]["id"] == customer["id"]


def test_helper_options_and_bad_customer(client: InProcessClient) -> None:
    credit = new_account(client, category="credit", permissions=["balances"], transactions=3)
    assert credit["subcategory"] == "credit_card" and credit["balance"]["type"] == "credit"
    assert credit["transaction_refresh"] is None
    assert transactions(client, account=credit["id"])["data"] == []
    fails(client.post(HELPER, {"customer": "cus_missing"}), 400, "customer", "resource_missing")
    fails(client.post(HELPER, {"transactions": 501}), 400, "transactions")


def test_generated_transactions(client: InProcessClient) -> None:
    account = new_account(client, transactions=30)
    page = transactions(client, account=account["id"], limit=100)["data"]
    assert len(page) == 30
    times = [t["transacted_at"] for t in page]
    assert times == sorted(times, reverse=True) and len(set(times)) == 30
    assert times[0] - times[-1] > 3 * 86400  # spread over days
    for txn in page:
        assert txn["id"].startswith("fctxn_")
        assert txn["account"] == account["id"]
        assert txn["amount"] != 0 and txn["currency"] == "usd" and txn["status"] == "posted"
        assert txn["transaction_refresh"] == account["transaction_refresh"]["id"]
    one = ok(client.get(f"{TRANSACTIONS}/{page[3]['id']}"), "RetrieveFinancialConnectionsTransaction")
    assert one == page[3]
    # transacted_at range filters
    middle = times[10]
    assert [t["transacted_at"] for t in transactions(client, account=account["id"], limit=100,
                                                      transacted_at={"gte": middle})["data"]] == times[:11]
    assert len(transactions(client, account=account["id"], limit=100, transacted_at={"lt": middle})["data"]) == 19
    assert transactions(client, account=account["id"], transacted_at=middle)["data"][0]["transacted_at"] == middle
    # pagination walks every transaction once
    seen, cursor = [], None
    while True:
        params = {"account": account["id"], "limit": 7}
        if cursor:
            params["starting_after"] = cursor
        body = transactions(client, **params)
        seen += [t["id"] for t in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert seen == [t["id"] for t in page]


def test_transactions_of_one_account_only(client: InProcessClient) -> None:
    a = new_account(client, transactions=2)
    b = new_account(client, transactions=3)
    assert {t["account"] for t in transactions(client, account=a["id"])["data"]} == {a["id"]}
    assert len(transactions(client, account=b["id"])["data"]) == 3


def test_refresh(client: InProcessClient) -> None:
    account = new_account(client, permissions=["balances", "transactions", "ownership"], transactions=2)
    first_refresh = account["transaction_refresh"]["id"]
    refreshed = ok(client.post(f"{ACCOUNTS}/{account['id']}/refresh",
                               {"features": ["balance", "ownership", "transactions"]}),
                   "RefreshFinancialConnectionsAccount")
    for name in ("balance_refresh", "ownership_refresh", "transaction_refresh"):
        assert refreshed[name]["status"] == "succeeded"
        assert refreshed[name]["last_attempted_at"] >= account["created"]
        assert refreshed[name]["next_refresh_available_at"] is None
    second_refresh = refreshed["transaction_refresh"]["id"]
    assert second_refresh.startswith("fctxnref_2_")
    after_first = transactions(client, account=account["id"], transaction_refresh={"after": first_refresh})
    assert [t["transaction_refresh"] for t in after_first["data"]] == [second_refresh]
    assert transactions(client, account=account["id"], transaction_refresh={"after": second_refresh})["data"] == []
    assert len(transactions(client, account=account["id"])["data"]) == 3
    third = ok(client.post(f"{ACCOUNTS}/{account['id']}/refresh", {"features": ["transactions"]}),
               "RefreshFinancialConnectionsAccount")
    assert third["transaction_refresh"]["id"].startswith("fctxnref_3_")
    assert third["balance_refresh"] == refreshed["balance_refresh"]


def test_refresh_bad_feature(client: InProcessClient) -> None:
    account = new_account(client)
    fails(client.post(f"{ACCOUNTS}/{account['id']}/refresh", {"features": ["owners"]}), 400, "features[0]")
    fails(client.post(f"{ACCOUNTS}/{account['id']}/refresh", {}), 400, "features", "parameter_missing")


def test_subscribe_unsubscribe_idempotent(client: InProcessClient) -> None:
    account = new_account(client)
    path = f"{ACCOUNTS}/{account['id']}"
    unchanged = ok(client.post(f"{path}/unsubscribe", {"features": ["transactions"]}),
                   "UnsubscribeFinancialConnectionsAccount")
    assert unchanged["subscriptions"] == []
    once = ok(client.post(f"{path}/subscribe", {"features": ["transactions"]}), "SubscribeFinancialConnectionsAccount")
    twice = ok(client.post(f"{path}/subscribe", {"features": ["transactions"]}), "SubscribeFinancialConnectionsAccount")
    assert once["subscriptions"] == twice["subscriptions"] == ["transactions"]
    gone = ok(client.post(f"{path}/unsubscribe", {"features": ["transactions"]}),
              "UnsubscribeFinancialConnectionsAccount")
    assert gone["subscriptions"] == []


def test_session(client: InProcessClient) -> None:
    customer = ok(client.post("/v1/customers", {}), "CreateCustomer")
    session = ok(client.post(SESSIONS, {
        "account_holder": {"type": "customer", "customer": customer["id"]},
        "permissions": ["balances", "payment_method"], "prefetch": ["balances"],
        "filters": {"countries": ["US"], "account_subcategories": ["checking"]},
        "return_url": "https://example.com/done",
    }), "CreateFinancialConnectionsSession")
    assert session["id"].startswith("fcsess_")
    assert session["client_secret"].startswith("fcsess_client_secret_")
    assert session["accounts"] == {"object": "list", "data": [], "has_more": False, "url": ACCOUNTS}
    assert session["account_holder"]["customer"] == customer["id"]
    assert session["permissions"] == ["balances", "payment_method"]
    assert session["prefetch"] == ["balances"]
    assert session["filters"]["account_subcategories"] == ["checking"]
    assert session["return_url"] == "https://example.com/done"
    got = ok(client.get(f"{SESSIONS}/{session['id']}"), "RetrieveFinancialConnectionsSession")
    assert got == session
    by_account = ok(client.post(SESSIONS, {"account_holder": {"type": "account", "account": "acct_1"},
                                           "permissions": ["ownership"]}), "CreateFinancialConnectionsSession")
    assert by_account["account_holder"]["account"] == "acct_1"
    assert by_account["prefetch"] == []


def test_session_errors(client: InProcessClient, other: InProcessClient) -> None:
    base = {"permissions": ["balances"]}
    fails(client.post(SESSIONS, {**base, "account_holder": {"type": "customer"}}), 400,
          "account_holder[customer]", "parameter_missing")
    fails(client.post(SESSIONS, {**base, "account_holder": {"type": "customer", "customer": "cus_x"}}), 400,
          "account_holder[customer]", "resource_missing")
    theirs = ok(other.post("/v1/customers", {}), "CreateCustomer")
    fails(client.post(SESSIONS, {**base, "account_holder": {"type": "customer", "customer": theirs["id"]}}), 400,
          "account_holder[customer]", "resource_missing")
    fails(client.post(SESSIONS, {**base, "account_holder": {"type": "account"}}), 400, "account_holder[account]")
    fails(client.post(SESSIONS, {"account_holder": {"type": "account", "account": "acct_1"}}), 400,
          "permissions", "parameter_missing")
    fails(client.get(f"{SESSIONS}/fcsess_missing"), 404, code="resource_missing")


def test_transactions_require_own_account(client: InProcessClient, other: InProcessClient) -> None:
    fails(client.get(TRANSACTIONS), 400, "account", "parameter_missing")
    fails(client.get(TRANSACTIONS, {"account": "fca_missing"}), 400, "account", "resource_missing")
    account = new_account(client)
    fails(other.get(TRANSACTIONS, {"account": account["id"]}), 400, "account", "resource_missing")


def test_isolation(client: InProcessClient, other: InProcessClient) -> None:
    account = new_account(client)
    txn = transactions(client, account=account["id"])["data"][0]
    customer = ok(client.post("/v1/customers", {}), "CreateCustomer")
    session = ok(client.post(SESSIONS, {"account_holder": {"type": "customer", "customer": customer["id"]},
                                        "permissions": ["balances"]}), "CreateFinancialConnectionsSession")
    for action, params in (("refresh", {"features": ["balance"]}), ("subscribe", {"features": ["transactions"]}),
                           ("unsubscribe", {"features": ["transactions"]})):
        fails(other.post(f"{ACCOUNTS}/{account['id']}/{action}", params), 404, code="resource_missing")
    fails(other.get(f"{TRANSACTIONS}/{txn['id']}"), 404, code="resource_missing")
    fails(other.get(f"{SESSIONS}/{session['id']}"), 404, code="resource_missing")
    mine = new_account(other, transactions=1)
    assert len(transactions(other, account=mine["id"])["data"]) == 1
    # the owner's account is untouched by the refused actions
    again = ok(client.post(f"{ACCOUNTS}/{account['id']}/unsubscribe", {"features": ["transactions"]}),
               "UnsubscribeFinancialConnectionsAccount")
    assert again["subscriptions"] == [] and again["balance_refresh"] == account["balance_refresh"]
