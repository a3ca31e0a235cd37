"""One name per object: the world, the strategies' pools, the rules table and --harness-config all call an object by
the contract's name for it (the ``object`` field Stripe sends), plus ``:state`` where a state matters."""

from __future__ import annotations

import json
import warnings

import pytest

from contracts.loader import load_contract
from contracts.rules import load_rules
from harness import harness_config
from harness.world import RECIPES, World
from suites.pools import DERIVED, POOL_SOURCES, kinds_used

CONTRACT = load_contract()
# Pools of IDs that name no object of their own: a transaction's `transaction_refresh` (fctxnref_...) is the ID of
# one refresh of the account's transactions, which the API never returns as an object.
NOT_OBJECTS = {"financial_connections.transaction_refresh"}


def _object_names() -> set[str]:
    names: set[str] = set()
    for schema in CONTRACT.components.values():
        names.update((schema.get("properties") or {}).get("object", {}).get("enum") or ())
    return names


OBJECT_NAMES = _object_names()


def _object_of(kind: str) -> str:
    return kind.split(":", 1)[0]


@pytest.mark.parametrize(("table", "kinds"), [
    ("harness.world.RECIPES", sorted(RECIPES)),
    ("harness.world.World.DISCOVERY", sorted(World.DISCOVERY)),
    ("suites.pools.POOL_SOURCES", sorted(POOL_SOURCES)),
    ("suites.pools.DERIVED", sorted(set(DERIVED) - NOT_OBJECTS)),
    ("strategies.hints.OPERATION_HINTS", sorted({k for op in CONTRACT.seed_operations
                                                  for k in kinds_used(op.operation_id)} - NOT_OBJECTS)),
])
def test_every_kind_is_named_after_a_contract_object(table: str, kinds: list[str]) -> None:
    wrong = [kind for kind in kinds if _object_of(kind) not in OBJECT_NAMES]
    assert wrong == [], f"{table}: {wrong} are not the contract's object names (the `object` field) plus :state"


def test_the_rules_table_names_contract_objects() -> None:
    rows = list(load_rules().rules.values())
    named = {r.data["object"] for r in rows if "object" in r.data}
    named |= {o for r in rows for o in r.data.get("objects", ())}
    assert sorted(named - OBJECT_NAMES) == []


def test_config_keys_are_object_names() -> None:
    assert {World.config_key(kind) for kind in World.DISCOVERY} <= OBJECT_NAMES
    assert World.config_key("invoice_rendering_template:active") == "invoice_rendering_template"
    assert World.config_key("invoice:open") == "invoice:open"  # a kind the harness can always make: by its kind


def test_renamed_config_keys_point_at_kinds_the_world_knows() -> None:
    assert sorted(set(harness_config.RENAMED_KEYS.values()) - {World.config_key(k) for k in RECIPES}) == []


def test_an_old_config_key_still_works_and_warns_naming_the_new_one(tmp_path) -> None:
    path = tmp_path / "harness.json"
    path.write_text(json.dumps({"financial_connections_account": "fca_old", "customer": "cus_1"}))
    with pytest.warns(FutureWarning, match='"financial_connections_account" is deprecated; use '
                                           '"financial_connections.account"'):
        config = harness_config.read(path)
    assert config == {"financial_connections.account": "fca_old", "customer": "cus_1"}


def test_the_new_key_wins_over_the_old_one() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        config = harness_config.normalize({"identity_verification_report": "vr_old",
                                           "identity.verification_report": "vr_new"})
    assert config == {"identity.verification_report": "vr_new"}


def test_a_current_config_reads_without_warnings(tmp_path) -> None:
    path = tmp_path / "harness.json"
    path.write_text(json.dumps({"issuing.authorization": "iauth_1"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert harness_config.read(path) == {"issuing.authorization": "iauth_1"}


@pytest.mark.parametrize(("content", "says"), [("[1, 2]", "expected a JSON object"), ("{", "Expecting")])
def test_a_malformed_config_is_a_clear_error(tmp_path, content: str, says: str) -> None:
    path = tmp_path / "harness.json"
    path.write_text(content)
    with pytest.raises(harness_config.HarnessConfigError, match=f"--harness-config {path}: .*{says}"):
        harness_config.read(path)


class _NothingImplemented:
    """Capabilities of a target that implements no operation: every recipe is passed over without a request."""

    def unavailable_reason(self, operation_id: str) -> str:
        return f"{operation_id} is not implemented"


class _NoRequests:
    def __getattr__(self, name: str):
        raise AssertionError(f"a named object needs no request (ApiClient.{name} called)")


@pytest.mark.parametrize("key", ["financial_connections.account", "financial_connections_account"])
def test_the_world_takes_an_object_named_in_the_config_by_its_object_name_or_old_key(key: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        config = harness_config.normalize({key: "fca_named", "customer": "cus_named"})
    world = World(_NoRequests(), config, _NothingImplemented(), CONTRACT)
    assert world.fresh("financial_connections.account") == {"id": "fca_named"}
