"""Security: authentication on every operation, and isolation between accounts (docs/conventions.md,
"Authentication and accounts")."""

from __future__ import annotations

import pytest

from harness.checks import CONTRACT, fail, is_stripe_error, label_test
from suites.conftest import OPERATION_IDS, READ_PAGE, SEED_OPERATIONS, call, every, snapshot
from suites.preconditions import PRECONDITIONS

pytestmark = pytest.mark.security

PLACEHOLDER_IDS = {name: f"{name}_doesnotexist" for op in SEED_OPERATIONS for name in op.path_params}
MALFORMED_KEYS = ["not-a-key", "sk_test_", "Bearer", "sk_test_with spaces", "pk_test_publishable123"]
WITH_PATH_OBJECT = [op_id for op_id in OPERATION_IDS if PRECONDITIONS[op_id].kind is not None]
LISTS = [op.operation_id for op in SEED_OPERATIONS if op.is_list]


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_missing_api_key_is_rejected_with_401(operation_id, contract, api):
    op = contract[operation_id]
    label_test(op, "authentication", severity="critical", title=f"{op.label}: no API key → 401")
    resp = call(api, op, PLACEHOLDER_IDS, api_key=None)
    is_stripe_error(op, resp, status=401, error_type=None, what="a request without an API key is refused",
                    defect="no API key")


@pytest.mark.parametrize("bad_key", MALFORMED_KEYS)
@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_malformed_api_key_is_rejected_with_401(operation_id, bad_key, contract, api):
    op = contract[operation_id]
    label_test(op, "authentication", severity="critical", title=f"{op.label}: malformed key {bad_key!r} → 401")
    resp = call(api, op, PLACEHOLDER_IDS, headers={"Authorization": f"Bearer {bad_key}"}, api_key=None)
    is_stripe_error(op, resp, status=401, error_type=None, what="a request with a malformed API key is refused",
                    defect="malformed API key")


@pytest.mark.parametrize("operation_id", WITH_PATH_OBJECT)
def test_other_account_gets_404_for_objects_it_does_not_own(operation_id, contract, api, other_api, world):
    """Another account's key must get 404 resource_missing (never the object), and nothing may change."""
    op = contract[operation_id]
    label_test(op, "isolation", severity="critical",
               title=f"{op.label}: another account's key cannot see or change the object")
    path_params, params = PRECONDITIONS[operation_id].setup(world)
    owner_view = snapshot(contract, api, op, path_params)
    resp = call(other_api, op, path_params, params)
    is_stripe_error(op, resp, status=404, what="another account's object is invisible (404)",
                    defect="another account's object")
    if resp.body["error"].get("code") not in (None, "resource_missing"):
        fail(CONTRACT, op, "another account's object is invisible", "error.code should be resource_missing", resp)
    if snapshot(contract, api, op, path_params) != owner_view:
        fail(CONTRACT, op, "a refused request from another account changes nothing",
             f"the owner's view of {path_params} changed after the other account's request", resp)


@pytest.mark.parametrize("operation_id", LISTS)
def test_lists_never_show_another_accounts_objects(operation_id, contract, api, other_api, world):
    op = contract[operation_id]
    label_test(op, "isolation", severity="critical", title=f"{op.label}: lists only show the caller's objects")
    path_params, params = PRECONDITIONS[operation_id].setup(world)
    my_ids = {obj["id"] for obj in every(api, op, path_params, params)}
    if op.path_params:  # a list under one of my objects: the other account must not reach it at all
        resp = call(other_api, op, path_params, params)
        is_stripe_error(op, resp, status=404, what="another account's object is invisible (404)",
                    defect="another account's object")
        return
    theirs = call(other_api, op, path_params, {**params, "limit": READ_PAGE})
    if theirs.status == 200:
        leaked = my_ids & {obj["id"] for obj in every(other_api, op, path_params, params)}
        if leaked:
            fail(CONTRACT, op, "lists never show another account's objects",
                 f"the second account's list contains {sorted(leaked)[:5]}", theirs)
    else:  # e.g. a filter naming my object (transactions of my FC account) is refused: fine, if well-formed
        is_stripe_error(op, theirs, status=(400, 404), what="a list filtered on another account's object is refused")
