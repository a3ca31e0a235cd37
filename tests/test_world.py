"""The adaptive world: recipes are tried in order, the one that works is remembered, and what the target does
wrong on the way is one finding of its own (never a harness error in every test that needed the object)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts.loader import load_contract
from harness import findings
from harness.client import ApiClient
from harness.discovery import discover
from harness.target import start_embedded_mock
from harness.world import RECIPES, World

CONTRACT = load_contract()


@pytest.fixture(autouse=True)
def _clean_findings() -> Iterator[None]:
    findings.reset()
    findings.set_current_test(None)  # what these tests record is their subject, not a failure of the test itself
    yield
    findings.reset()


def _world(*faults: str, probe: bool = False) -> Iterator[World]:
    with start_embedded_mock(tuple(faults), label="world") as target:
        api = ApiClient(target.base_url, target.api_key, max_retries=1)
        caps = discover(api, CONTRACT) if probe else None
        yield World(api, {}, caps)


def test_every_recipe_names_an_existing_method():
    for kind, recipes in RECIPES.items():
        assert recipes, kind
        for recipe in recipes:
            assert callable(getattr(World, recipe.make, None)), f"{kind}: {recipe.make}"


def test_on_a_correct_target_the_documented_recipe_is_used_and_nothing_is_recorded():
    with findings.collecting() as seen:
        for world in _world():
            inv = world.fresh("invoice:open")
            assert inv["status"] == "open" and len(inv["lines"]["data"]) == 2
            assert world.recipe_in_use("invoice:draft") == "empty draft with currency"
            assert world.recipe_in_use("payment_method") is None
            assert world.fresh("payment_method")["id"].startswith("pm_")
            assert world.recipe_in_use("payment_method") == "card[token]=tok_visa"
    assert seen == []


def test_a_5xx_and_a_refused_documented_parameter_are_one_finding_each_and_the_next_recipe_is_used():
    with findings.collecting() as seen:
        for world in _world("invoice_currency_server_error", "card_token_refused"):
            first = world.fresh("invoice:draft")
            second = world.fresh("invoice:draft")
            assert first["status"] == second["status"] == "draft" and first["id"] != second["id"]
            assert world.recipe_in_use("invoice:draft") == "empty draft without currency"
            assert world.fresh("invoice:paid")["status"] == "paid"
            pm = world.fresh("payment_method")
            assert world.recipe_in_use("payment_method") != "card[token]=tok_visa" and pm["id"]
    # each refusal seen once: the recipe that works is remembered, the refused one is not asked for again
    # (a refusal is keyed without its operation, which it lists; a 5xx is one finding per operation)
    assert len(seen) == 2 and {(f.category, f.operations[0], f.signature) for f in seen} == {
        (findings.Category.SERVER_ERROR, "POST /v1/invoices", "status 500"),
        (findings.Category.CONTRACT, "POST /v1/payment_methods", "param=card[token] refused"),
    }
    server_error = next(f for f in seen if f.category is findings.Category.SERVER_ERROR)
    server_error.materialise()
    assert server_error.exchanges[-1]["params"]["currency"] == "usd" and server_error.exchanges[-1]["status"] == 500
    assert "curl" in server_error.exchanges[-1]


def test_objects_are_made_from_the_operations_the_target_has():
    for world in _world("only_invoices_implemented", probe=True):
        inv = world.fresh("invoice:draft_with_lines")  # no add_lines: invoice items naming the invoice
        assert len(inv["lines"]["data"]) == 2
        assert world.recipe_in_use("invoice:draft_with_lines") == \
            "draft plus invoice items naming it (invoiceitems invoice=)"
        assert world.fresh("invoice:void")["status"] == "void"
        with pytest.raises(pytest.skip.Exception, match="does not implement POST /v1/forwarding/requests"):
            world.fresh("forwarding.request")
        calls = len(findings.collected())
        with pytest.raises(pytest.skip.Exception, match="no recipe worked"):
            world.fresh("forwarding.request")  # not tried again
        assert len(findings.collected()) == calls
    assert all(f.category is findings.Category.NOT_IMPLEMENTED for f in findings.collected())


def test_a_skip_names_every_refusal():
    for world in _world("card_token_refused", "only_invoices_implemented", probe=True):
        with pytest.raises(pytest.skip.Exception) as info:
            world.fresh("identity.verification_session:verified")
    reason = str(info.value)
    assert "session verified by the test helper" in reason
    assert "does not implement POST /v1/identity/verification_sessions" in reason


def test_an_object_with_its_own_parameters_uses_the_next_shape_or_skips_with_the_refusals():
    with findings.collecting() as seen:
        for world in _world("invoice_currency_server_error"):
            customer = world.fresh("customer")["id"]
            inv = world.create("CreateInvoice", {"customer": customer, "currency": "usd", "metadata": {"i": "1"}},
                               {"customer": customer, "metadata": {"i": "1"}}, what="a draft invoice")
            assert inv["customer"] == customer and inv["metadata"] == {"i": "1"}
            with pytest.raises(pytest.skip.Exception) as info:
                world.create("CreateInvoice", {"customer": customer, "currency": "usd"}, what="a draft invoice")
    assert "cannot make a draft invoice on this target: POST /v1/invoices answered 500" in str(info.value)
    assert [f.category for f in seen] == [findings.Category.SERVER_ERROR] * 2
