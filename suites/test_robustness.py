"""Robustness: whatever a client sends, the answer is never a 5xx, never slow, and a refused request changes
nothing (the object is read back before and after).

- one-field-extreme requests: a valid request with exactly one integer or decimal field at an extreme but
  well-formed value (its bounds and one past them, 2^63 - 1, beyond 64 bits, decimals with huge exponents or too
  many places); the answer may be a 2xx or a 4xx, as the field's bounds say;
- odd path IDs: an encoded slash inside an ID (`in_X%2Fvoid` must not void `in_X`), an empty segment, a trailing
  `/`: a 404, and nothing changes;
- control headers: `Authorization` sent twice is a 400, and nothing changes (an `Idempotency-Key` that is empty or
  longer than 255 characters is one of the negative suite's header defects).

Against the embedded mock an answer slower than `RESPONSE_BOUND` seconds is a finding too (one request must never
stall the server); against an external target network time is not ours to judge.
"""

from __future__ import annotations

import http.client
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.loader import Operation
from harness.checks import is_stripe_error, label_test
from harness.client import API_KEY_ENV, ApiClient, PlannedRequest
from harness.findings import Category
from harness.target import Target
from strategies import ApiRequest, valid_requests
from strategies.extremes import one_field_extreme_requests, path_variants
from suites import side_by_side
from suites.conftest import OPERATION_IDS, sent_outside, snapshot, snapshots
from suites.pools import refs_for
from suites.refusals import RESPONSE_BOUND, answered_safely, exchanges_of, expect_status, finding, unchanged
from wire.codec import encode_body, encode_query

pytestmark = pytest.mark.robustness

RAW_ATTEMPTS = 5
"""Attempts of a request sent with raw headers when the server answers `Stripe-Should-Retry: true`."""


# -- one field extreme ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_one_field_extreme_requests_never_fail_the_server(operation_id, contract, api, world, target, request):
    """Reads, and requests that consume an object of their own, go out several per example, between a batch of
    reads of their objects before and one after (`suites.side_by_side`)."""
    op = contract[operation_id]
    label_test(op, "robustness", title=f"{op.label}: one field at an extreme value: 2xx or 4xx, fast, no trace")
    per_example = side_by_side.per_example(op, request.node)

    @side_by_side.examples(per_example)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        reqs = [data.draw(one_field_extreme_requests(op, refs_for(world, operation_id)), label="request")
                for _ in range(per_example)]
        befores = snapshots(contract, api, op, [dict(req.path_params) for req in reqs], reuse=True)
        planned = [PlannedRequest(req.method, req.path, req.params or None) for req in reqs]
        answers = api.request_all(planned)
        for req, plan, resp in zip(reqs, planned, answers, strict=True):
            answered_safely(op, resp, target, req.label, lambda p=plan: api.request_planned(p))
            if req.expected is not None:  # outside the contract's bounds: a 400 naming the field
                is_stripe_error(op, resp, status=req.expected.status, param=req.expected.param,
                                code=req.expected.code, what="a value outside the field's bounds is refused",
                                context=req.label)
        refused = [(req, resp, before) for req, resp, before in zip(reqs, answers, befores, strict=True)
                   if resp.status >= 400]
        afters = snapshots(contract, api, op, [dict(req.path_params) for req, _, _ in refused])
        for (req, resp, before), after in zip(refused, afters, strict=True):
            unchanged(op, before, after, req.label, resp)

    check()


# -- paths ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_odd_path_ids_are_not_found(operation_id, contract, api, world, target):
    """An encoded slash is part of an ID and an empty segment is an unknown URL: 404, nothing changes.

    The odd paths of one example are independent (each must be a 404 whatever the others did), so they go out as
    one batch (`ApiClient.request_all`) between the two reads of the object. Should the object have changed, they
    are sent again one at a time to name the one that changes it."""
    op = contract[operation_id]
    label_test(op, "robustness", title=f"{op.label}: encoded slashes and empty segments in the path are 404s")

    # Two requests (one in the first pass, whose profile makes the default one): the paths barely vary.
    @settings(max_examples=min(2, settings.default.max_examples))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        req = data.draw(valid_requests(op, refs_for(world, operation_id)), label="request")
        path_params, params = dict(req.path_params), req.params or None
        variants = path_variants(op, path_params)
        before = snapshot(contract, api, op, path_params, reuse=True)
        planned = [PlannedRequest(op.method, path, params) for _, path in variants]
        answers = api.request_all(planned)
        for (label, _), plan, resp in zip(variants, planned, answers, strict=True):
            answered_safely(op, resp, target, label, lambda p=plan: api.request_planned(p))
            expect_status(op, resp, (404,), "an encoded slash or an empty segment in the path is a 404", label)
        after = snapshot(contract, api, op, path_params)
        if after == before:
            return
        for (label, _), plan in zip(variants, planned, strict=True):  # which one: each alone, between two reads
            alone_before = snapshot(contract, api, op, path_params)
            resp = api.request_planned(plan)
            unchanged(op, alone_before, snapshot(contract, api, op, path_params), label, resp)
        raise finding(Category.INVARIANT, op, "a refused request changes nothing", "state changed",
                      f"sent side by side: {'; '.join(label for label, _ in variants)}. Each was refused with "
                      "404, but the object changed; sent again one at a time, none changed it (what changed it "
                      "cannot happen twice)",
                      [exchange for resp in answers for exchange in exchanges_of(resp)])

    check()


# -- control headers --------------------------------------------------------------------------------------------


def _send_raw(target: Target, api: ApiClient, op: Operation, path: str, params: dict | None,
              headers: list[tuple[str, str]]) -> tuple[int, dict, Any, float, str]:
    """One request with these headers (a header may repeat, which the HTTP client cannot send) after the client's
    default ones (`Stripe-Version`, `Stripe-Account`), each attempt through the client's gates (the run's pace and
    budget: `ApiClient.pass_gates`)."""
    api_key = api.api_key
    headers = [*api.default_headers.items(), *headers]
    parts = urlsplit(target.base_url)
    body = encode_body(params or {}) if op.method == "POST" else None
    url = path + (f"?{encode_query(params)}" if params and op.method != "POST" else "")
    for attempt in range(1, RAW_ATTEMPTS + 1):
        api.pass_gates()
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        start = time.monotonic()
        try:
            conn.putrequest(op.method, url, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Type", "application/x-www-form-urlencoded")
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            answer = conn.getresponse()
            payload = answer.read()
            status, answer_headers = answer.status, {k.lower(): v for k, v in answer.getheaders()}
        finally:
            conn.close()
        # the server says the request was not applied and may be repeated (a 429 or a transient 503)
        if answer_headers.get("stripe-should-retry", "").lower() != "true" or attempt == RAW_ATTEMPTS:
            break
        time.sleep(0.05 * attempt)
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        parsed = payload.decode("utf-8", "replace")
    keys = {api_key: f"${API_KEY_ENV}", **{v.removeprefix("Bearer "): "$HARNESS_SECOND_API_KEY" for k, v in headers
                                          if k.lower() == "authorization" and api_key not in v}}
    shown = [f"{k}: {v}" if k.lower() != "authorization" else f"{k}: Bearer {keys[v.removeprefix('Bearer ')]}"
             for k, v in headers]
    curl = " ".join(["curl", "-sS", "-g", "-X", op.method, *[f"-H {shlex.quote(h)}" for h in shown],
                     *([f"--data-binary {shlex.quote(body.decode())}"] if body else []),
                     shlex.quote(target.base_url + url)])
    return status, answer_headers, parsed, time.monotonic() - start, curl


def _send_raw_side_by_side(target: Target, api: ApiClient, op: Operation, reqs: list[ApiRequest],
                           headers: list[tuple[str, str]]) -> list[tuple[int, dict, Any, float, str]]:
    """`_send_raw` of each request, up to the client's `concurrency` at once; the answers in the order given."""
    def send(req: ApiRequest) -> tuple[int, dict, Any, float, str]:
        return _send_raw(target, api, op, req.path, dict(req.params), headers)

    if api.concurrency == 1 or len(reqs) < 2:
        return [send(req) for req in reqs]
    with ThreadPoolExecutor(min(len(reqs), api.concurrency), thread_name_prefix="harness-raw") as pool:
        return list(pool.map(send, reqs))


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_authorization_sent_twice_is_refused(operation_id, contract, api, other_api, world, target, request):
    """Reads, and requests that consume an object of their own, go out several per example, between a batch of
    reads of their objects before and one after (`suites.side_by_side`)."""
    op = contract[operation_id]
    label_test(op, "robustness", severity="critical", title=f"{op.label}: two Authorization headers are a 400")
    headers = [("Authorization", f"Bearer {api.api_key}"), ("Authorization", f"Bearer {other_api.api_key}")]
    per_example = side_by_side.per_example(op, request.node)

    @side_by_side.examples(per_example)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        reqs = [data.draw(valid_requests(op, refs_for(world, operation_id)), label="request")
                for _ in range(per_example)]
        befores = snapshots(contract, api, op, [dict(req.path_params) for req in reqs], reuse=True)
        answers = _send_raw_side_by_side(target, api, op, reqs, headers)
        sent_outside()
        details = []
        for req, (status, _, body, took, curl) in zip(reqs, answers, strict=True):
            detail = (f"{req.label or 'valid request'} with two Authorization headers: got {status}\n{body}\n"
                      f"curl: {curl}")
            exchange = [{"method": op.method, "path": req.path, "status": status, "body": body, "curl": curl}]
            details.append((detail, exchange))
            if status >= 500:
                raise finding(Category.SERVER_ERROR, op, "a client request must never cause a 5xx", f"status {status}",
                              detail, exchange)
            if target.embedded and took > RESPONSE_BOUND \
                    and _send_raw(target, api, op, req.path, dict(req.params), headers)[3] > RESPONSE_BOUND:
                raise finding(Category.SERVER_ERROR, op, f"every answer arrives within {RESPONSE_BOUND:g} s",
                              "slow answer", detail, exchange)
            if status != 400:
                # One signature whatever the status: a server that reads one of the two keys answers 200 where that
                # key's account owns the object and 404 where it does not, and that is one defect.
                raise finding(Category.CONTRACT, op, "a request with two Authorization headers is refused (400)",
                              "not answered 400", detail, exchange)
        afters = snapshots(contract, api, op, [dict(req.path_params) for req in reqs])
        for (detail, exchange), before, after in zip(details, befores, afters, strict=True):
            if after != before:
                raise finding(Category.INVARIANT, op, "a refused request changes nothing", "state changed", detail,
                              exchange)

    check()
