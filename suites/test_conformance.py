"""Conformance: every operation answers valid requests with 2xx, a body valid against the contract's 200 schema,
JSON, a Request-Id header and livemode=false."""

from __future__ import annotations

import pytest

from suites.checks import label_test, succeeds
from suites.conftest import OPERATION_IDS, call
from suites.preconditions import PRECONDITIONS

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_minimal_valid_request_succeeds(operation_id, contract, api, world):
    op = contract[operation_id]
    label_test(op, "conformance", title=f"{op.label}: a minimal valid request succeeds per contract")
    path_params, params = PRECONDITIONS[operation_id].setup(world)
    succeeds(op, call(api, op, path_params, params))
