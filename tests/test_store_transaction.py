"""Account.transaction(): a request applies whole or not at all (mockserver/store.py's undo log)."""

from __future__ import annotations

import copy

import pytest

from mockserver.store import Account


def _account() -> Account:
    acct = Account(key="sk_test_tx")
    coll = acct.collection("invoice")
    for n in range(3):
        coll.add({"id": f"in_{n}", "status": "draft", "nested": {"n": n}, "lines": [n]})
    return acct


def _state(acct: Account) -> tuple:
    return ({k: (list(c.order), dict(c.position), {i: dict(o) for i, o in c.objects.items()})
             for k, c in acct.collections.items()}, dict(acct.counters))


def test_an_exception_undoes_every_kind_of_change() -> None:
    acct = _account()
    acct.next_number("invoice")
    before = copy.deepcopy(_state(acct))
    with pytest.raises(RuntimeError), acct.transaction():
        coll = acct.collection("invoice")
        inv = coll.get("in_1")
        assert inv is not None
        inv["status"] = "paid"
        inv["nested"]["n"] = 99  # in-place change of a nested object
        inv["lines"].append(7)
        coll.remove("in_0")
        coll.add({"id": "in_new", "status": "draft"})
        for obj in coll.newest_first():
            obj["touched"] = True
        acct.collection("line_item:in_2").add({"id": "il_1"})
        acct.drop_collection("line_item:in_2")
        acct.next_number("invoice")
        raise RuntimeError("a bug halfway")
    acct.collections.pop("line_item:in_2", None)  # created empty by collection(): not state
    assert _state(acct) == before  # (the objects dict may list them in another order: `order` decides)
    assert [o["id"] for o in acct.collection("invoice").newest_first()] == ["in_2", "in_1", "in_0"]
    assert acct.next_number("invoice") == 2
    assert acct.journal is None


def test_a_successful_transaction_keeps_its_changes() -> None:
    acct = _account()
    with acct.transaction():
        inv = acct.collection("invoice").get("in_1")
        assert inv is not None
        inv["status"] = "open"
        acct.collection("invoice").remove("in_0")
    assert acct.collection("invoice").get("in_1")["status"] == "open"  # type: ignore[index]
    assert "in_0" not in acct.collection("invoice")
    assert acct.journal is None


def test_nested_transactions_belong_to_the_outer_one() -> None:
    acct = _account()
    with pytest.raises(ValueError), acct.transaction():
        with acct.transaction():
            acct.collection("invoice").remove("in_2")
        raise ValueError
    assert "in_2" in acct.collection("invoice")
