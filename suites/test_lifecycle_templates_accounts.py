"""Rendering templates (active <-> archived) and Financial Connections accounts (subscriptions, refreshes) as
state machines with models; the rules come from the rules table (`contracts/rules.yaml`, rows `template.*` and
`fc.*`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, rule

from contracts.rules import load_rules
from harness.checks import label_test
from suites.machines import ApiMachine, Read, expect, read_back, run_machine

pytestmark = pytest.mark.lifecycle

RULES = load_rules()
REFRESH = RULES["fc.refresh"].data
REFRESH_FIELD: dict[str, str] = REFRESH["features"]  # feature -> the *_refresh field it sets
FEATURES = tuple(REFRESH_FIELD)
SUBSCRIBABLE = RULES["fc.subscribe"].data["features"]


class TemplateLifecycle(ApiMachine):
    templates = Bundle("templates")

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # ApiMachine's (api, contract, world, rule_gate)
        super().__init__(*args, **kwargs)
        self.model: dict[str, str] = {}  # id -> status

    @rule(target=templates)
    def create(self) -> str:
        template = self.world.fresh("invoice_rendering_template:active", ahead=True)
        self.model[template["id"]] = "active"
        return template["id"]

    def _act(self, template: str, action: str) -> None:
        decision = self.asserts(RULES.decide("invoice_rendering_template", action, self.model[template]))
        if decision is None:
            return  # an unsourced rule on an external target: not asserted
        operation = RULES.transition("invoice_rendering_template", action).data["operation"]
        if not decision.legal:
            self.refused(operation, {"template": template},
                         read=("RetrieveInvoiceRenderingTemplate", {"template": template}),
                         what=f"{action} on an {self.model[template]} template is refused")
            return
        self.ok(operation, {"template": template})
        self.model[template] = decision.result or self.model[template]

    @rule(template=templates)
    def archive(self, template: str) -> None:
        self._act(template, "archive")

    @rule(template=templates)
    def unarchive(self, template: str) -> None:
        self._act(template, "unarchive")

    def read_backs(self) -> list[Read]:
        return [*(("RetrieveInvoiceRenderingTemplate", {"template": t}, None) for t in self.model),
                *(("ListInvoiceRenderingTemplates", None, {"status": s, "limit": 100}) for s in ("active", "archived"))]

    @invariant()
    @read_back
    def server_matches_model(self) -> None:
        self.read_ahead(self.read_backs())
        created: dict[str, int] = {}
        for template, status in self.model.items():
            body = self.ok("RetrieveInvoiceRenderingTemplate", {"template": template})
            created[template] = body["created"]
            expect(body["status"] == status, f"template {template}", "archive/unarchive set the status",
                   f"server {body['status']!r}, model {status!r}")
        for status in ("active", "archived"):
            page = self.ok("ListInvoiceRenderingTemplates", params={"status": status, "limit": 100})
            listed = {t["id"] for t in page["data"]}
            expected = {t for t, s in self.model.items() if s == status}
            if page["has_more"] and page["data"]:
                # Lists are newest first: on a target other runs share, the page holds every template newer than
                # its last one (Unix seconds), and ours older than that are on later pages.
                oldest = min(t["created"] for t in page["data"])
                expected = {t for t in expected if created[t] > oldest}
            expect(expected <= listed and not ({t for t in self.model if self.model[t] != status} & listed),
                   "GET /v1/invoice_rendering_templates", f"status={status} lists exactly the {status} templates",
                   f"model {sorted(expected)}, listed (ours) {sorted(listed & set(self.model))}")


@dataclass
class AccountModel:
    id: str
    subscriptions: set[str] = field(default_factory=set)
    refreshed: set[str] = field(default_factory=set)


class AccountLifecycle(ApiMachine):
    accounts = Bundle("accounts")

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # ApiMachine's (api, contract, world, rule_gate)
        super().__init__(*args, **kwargs)
        self.model: dict[str, AccountModel] = {}
        self.last: dict[str, dict] = {}

    @rule(target=accounts)
    def link_account(self) -> AccountModel:
        account = self.world.fresh("financial_connections.account", ahead=True)
        model = AccountModel(account["id"], set(account.get("subscriptions") or []))
        self.model[model.id] = model
        self.last[model.id] = account
        return model

    @rule(account=accounts)
    def subscribe(self, account: AccountModel) -> None:
        self.last[account.id] = self.ok("SubscribeFinancialConnectionsAccount", {"account": account.id},
                                        {"features": list(SUBSCRIBABLE)})
        account.subscriptions.update(SUBSCRIBABLE)

    @rule(account=accounts)
    def unsubscribe(self, account: AccountModel) -> None:
        self.last[account.id] = self.ok("UnsubscribeFinancialConnectionsAccount", {"account": account.id},
                                        {"features": list(SUBSCRIBABLE)})
        account.subscriptions.difference_update(SUBSCRIBABLE)

    @rule(account=accounts, features=st.sets(st.sampled_from(FEATURES), min_size=1))
    def refresh(self, account: AccountModel, features: set[str]) -> None:
        self.last[account.id] = self.ok("RefreshFinancialConnectionsAccount", {"account": account.id},
                                        {"features": sorted(features)})
        account.refreshed |= features

    @invariant()
    def answers_match_model(self) -> None:
        # No operation of the 50 reads an account, so the last action's answer is the server's view.
        for account_id, body in self.last.items():
            model = self.model[account_id]
            label = f"financial connections account {account_id}"
            expect(set(body.get("subscriptions") or []) == model.subscriptions, label,
                   "subscribe/unsubscribe add and remove transactions in subscriptions",
                   f"server {body.get('subscriptions')}, model {sorted(model.subscriptions)}")
            for feature in model.refreshed:
                refresh = body.get(REFRESH_FIELD[feature]) or {}
                expect(refresh.get("status") in REFRESH["statuses"], label,
                       f"refresh with {feature} sets {REFRESH_FIELD[feature]}.status",
                       f"{REFRESH_FIELD[feature]}={refresh}")


def test_rendering_template_lifecycle_matches_the_model(api, contract, world, profile, rules, machine_threads):
    label_test(contract["ArchiveInvoiceRenderingTemplate"], "lifecycle",
               title="Rendering templates: archive/unarchive keep the server equal to the model")
    run_machine(TemplateLifecycle, api, contract, world, rules, profile=profile, threads=machine_threads)


def test_financial_connections_account_lifecycle_matches_the_model(api, contract, world, profile, machine_threads):
    label_test(contract["SubscribeFinancialConnectionsAccount"], "lifecycle",
               title="Financial Connections: subscriptions and refreshes follow the model")
    run_machine(AccountLifecycle, api, contract, world, profile=profile, threads=machine_threads)
