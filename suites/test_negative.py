"""Negative: every invalid request is a 400 invalid_request_error that names the exact bracketed `param`, is
never a 5xx, and changes nothing (the object is read back before and after).

Each generated request carries exactly one defect on top of an otherwise valid request (strategies/), so the
error the API must give is certain from the contract alone. Defects include out-of-range integers (beyond 64 bits
either way) and decimals (huge exponents, too many places), enormous array indices, `expand` paths no response
allows, and header defects (an empty or over-long Idempotency-Key). On the embedded mock an answer slower than
5 s is a finding too.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.loader import fill_path
from harness.checks import CONTRACT, fail, is_stripe_error, label_test
from harness.client import FORM_CONTENT_TYPE, PlannedRequest
from strategies import ApiRequest, invalid_requests
from suites import side_by_side
from suites.conftest import OPERATION_IDS, snapshots
from suites.pools import refs_for
from suites.refusals import answered_safely

pytestmark = pytest.mark.negative


def planned(req: ApiRequest) -> PlannedRequest:
    """The request as the client sends it: `raw_pairs` (a defect the codec cannot express) go out verbatim."""
    if req.raw_pairs is None:
        return PlannedRequest(req.method, req.path, req.params or None, headers=dict(req.headers) or None)
    raw = urlencode(list(req.raw_pairs))
    if req.method == "POST":
        return PlannedRequest("POST", req.path, raw_body=raw.encode(), content_type=FORM_CONTENT_TYPE)
    return PlannedRequest(req.method, f"{req.path}?{raw}")


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_invalid_requests_are_rejected_naming_the_param(operation_id, contract, api, world, target, request):
    """Reads, and requests that consume an object of their own, go out several per example, between a batch of
    reads of their objects before and one after (`suites.side_by_side`)."""
    op = contract[operation_id]
    label_test(op, "negative", title=f"{op.label}: invalid requests are 400s naming the param, changing nothing")
    per_example = side_by_side.per_example(op, request.node)

    @side_by_side.examples(per_example)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        reqs = [data.draw(invalid_requests(op, refs_for(world, operation_id)), label="request")
                for _ in range(per_example)]
        befores = snapshots(contract, api, op, [req.path_params for req in reqs], reuse=True)
        answers = api.request_all([planned(req) for req in reqs])
        for req, resp in zip(reqs, answers, strict=True):
            answered_safely(op, resp, target, req.label, lambda r=req: api.request_planned(planned(r)))
            expected = req.expected
            assert expected is not None
            is_stripe_error(op, resp, status=expected.status, error_type=expected.error_type, param=expected.param,
                            code=expected.code, what="an invalid request is rejected", defect=req.defect or None,
                            context=req.label)
        afters = snapshots(contract, api, op, [req.path_params for req in reqs])
        for req, resp, before, after in zip(reqs, answers, befores, afters, strict=True):
            if after != before:
                fail(CONTRACT, op, "a rejected request changes nothing",
                     f"{fill_path(op.path, req.path_params)} changed after the refused request ({req.label})", resp)

    check()
