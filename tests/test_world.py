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
    findings.set_current_test(None)
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


def _counting(api: ApiClient) -> list[int]:
    """Wrap `api.request_all` to record each batch's size."""
    sizes: list[int] = []
    send_all = api.request_all

    def request_all(planned):
        sizes.append(len(planned))
        return send_all(planned)

    api.request_all = request_all  # type: ignore[method-assign]
    return sizes


def test_objects_made_ahead_are_fresh_and_in_batches_that_double_up_to_AHEAD():
    with start_embedded_mock((), label="world") as target:
        api = ApiClient(target.base_url, target.api_key, max_retries=1, concurrency=8)
        world = World(api, {})
        sizes = _counting(api)
        findings.set_current_test("suites/test_x.py::test_one")
        made = [world.fresh("invoice:open", ahead=True) for _ in range(8)]
    assert len({inv["id"] for inv in made}) == 8
    assert all(inv["status"] == "open" and len(inv["lines"]["data"]) == 2 for inv in made)
    # the first alone (it picks the recipes), then 2 and 4 side by side: three rounds each (draft, lines,
    # finalize); the eighth object opens a batch of 4 = AHEAD
    assert sizes == [2] * 3 + [4] * 3 + [4] * 3


def test_objects_made_ahead_are_only_handed_to_the_test_that_asked():
    with start_embedded_mock((), label="world") as target:
        api = ApiClient(target.base_url, target.api_key, max_retries=1, concurrency=8)
        world = World(api, {})
        findings.set_current_test("suites/test_x.py::test_one")
        world.fresh("identity.verification_session:requires_input", ahead=True)
        first = world.fresh("identity.verification_session:requires_input", ahead=True)  # one of a batch of 2
        findings.set_current_test("suites/test_x.py::test_two")
        sizes = _counting(api)
        second = world.fresh("identity.verification_session:requires_input", ahead=True)
    assert second["id"] != first["id"]
    assert sizes == [], "a new test starts with batches of one again, not the last test's leftovers"


def test_with_concurrency_1_or_a_recipe_that_must_run_alone_objects_are_made_one_at_a_time():
    with start_embedded_mock((), label="world") as target:
        sequential = ApiClient(target.base_url, target.api_key, max_retries=1, concurrency=1)
        sizes = _counting(sequential)
        world = World(sequential, {})
        findings.set_current_test("suites/test_x.py::test_one")
        assert len({world.fresh("invoice:draft", ahead=True)["id"] for _ in range(4)}) == 4
        assert sizes == []

        api = ApiClient(target.base_url, target.api_key, max_retries=1, concurrency=8)
        sizes = _counting(api)
        world = World(api, {})
        world.fresh("invoice:draft_with_lines", ahead=True)
        world._chosen["invoice:draft"] = 2  # drafts from pending items: a new draft takes in all of them
        made = [world.fresh("invoice:draft_with_lines", ahead=True) for _ in range(3)]
    # one line from its own pending item (side by side, one draft would take in every pending item), two added
    assert [len(inv["lines"]["data"]) for inv in made] == [3, 3, 3]
    assert sizes == [], "the pending-items recipe never runs side by side"


def test_fresh_many_makes_a_known_kind_all_at_once_and_a_new_one_after_one_alone():
    with start_embedded_mock((), label="world") as target:
        api = ApiClient(target.base_url, target.api_key, max_retries=1, concurrency=8)
        world = World(api, {})
        sizes = _counting(api)
        first = world.fresh_many("forwarding.request", 5)
        second = world.fresh_many("forwarding.request", 3)
    assert len({req["id"] for req in first + second}) == 8
    # the first alone (payment method, then the request: no batch), the other four side by side; then all three
    assert sizes == [4, 3]
