"""How many requests one Hypothesis example sends in the conformance, negative and robustness suites.

Against a distant target a test's time is its round trips: one per example, or three where the example reads the
object before and after its request. So in the deep pass an example of these suites (generated valid and
boundary requests, invalid ones, one field at an extreme, two `Authorization` headers) draws `SIDE_BY_SIDE`
requests instead of one and sends them as one batch (`ApiClient.request_all`, or raw requests on as many
connections; the reads before and after in a batch each), and the test runs a third of the profile's examples:
the same number of requests, a third of the waits.

Only requests that cannot affect one another go side by side:

- reads (GET), which change nothing;
- requests to an operation that consumes its object (finalize, pay, void, delete ...): each request gets a fresh
  object of its own (`suites.pools.refs_for`), so each one's reads before and after judge that request alone.

A write to an object the requests share (an update of the shared draft) sends one request per example, and so
does the first pass, whose one example per test must stay cheap. With ``--concurrency 1`` a batch goes out one
request after another, as separate examples did.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import settings

from contracts.loader import Operation
from harness.passes import FIRST, pass_of
from suites.preconditions import PRECONDITIONS

SIDE_BY_SIDE = 3


def per_example(op: Operation, item: pytest.Item) -> int:
    """How many requests of `op` each example of the test `item` sends side by side (1 or `SIDE_BY_SIDE`)."""
    if pass_of(item) == FIRST:
        return 1
    return SIDE_BY_SIDE if op.method == "GET" or PRECONDITIONS[op.operation_id].consumes else 1


def examples(requests_per_example: int) -> settings:
    """Settings for a test whose examples send `requests_per_example` requests: the active profile's example
    count divided by it, rounded up, so the test sends at least as many requests as one per example would."""
    return settings(max_examples=math.ceil(settings.default.max_examples / requests_per_example))
