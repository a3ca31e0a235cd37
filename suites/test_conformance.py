"""Conformance: every operation answers valid requests with 2xx, a body valid against the contract's 200 schema,
JSON, a Request-Id header and livemode=false."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.checks import label_test, succeeds
from harness.client import PlannedRequest
from strategies import boundary_requests, valid_requests
from suites import side_by_side
from suites.conftest import OPERATION_IDS, call
from suites.pools import refs_for
from suites.preconditions import PRECONDITIONS

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_minimal_valid_request_succeeds(operation_id, contract, api, world):
    op = contract[operation_id]
    label_test(op, "conformance", title=f"{op.label}: a minimal valid request succeeds per contract")
    path_params, params = PRECONDITIONS[operation_id].setup(world)
    succeeds(op, call(api, op, path_params, params))


@pytest.mark.parametrize("kind", ["valid", "boundary"])
@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_generated_requests_succeed(operation_id, kind, contract, api, world, request):
    """Requests generated from the contract (every required field, random optional ones, values at the limits)
    are accepted and answered per contract. Reads, and requests that consume an object of their own, go out
    several per example (`suites.side_by_side`)."""
    op = contract[operation_id]
    label_test(op, "conformance", title=f"{op.label}: generated {kind} requests succeed per contract")
    make = valid_requests if kind == "valid" else boundary_requests
    per_example = side_by_side.per_example(op, request.node)

    @side_by_side.examples(per_example)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        reqs = [data.draw(make(op, refs_for(world, operation_id)), label="request") for _ in range(per_example)]
        answers = api.request_all([PlannedRequest(req.method, req.path, req.params or None, operation_id)
                                   for req in reqs])
        for req, resp in zip(reqs, answers, strict=True):
            succeeds(op, resp, f"a {kind} request succeeds: {req.label}")

    check()
