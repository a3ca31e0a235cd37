"""The mock keeps state consistent under concurrent clients: no lost update, no double finalize (each request is
applied atomically, mockserver/store.py).

Runs against the real server (`start_embedded_mock()`, uvicorn over a socket) because only there do requests
interleave. Eight threads, each with its own `requests.Session`, hammer one draft invoice; then they race to
finalize it. Every successful write must be visible exactly once afterwards, and nothing may be written once the
invoice is finalized.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from harness.target import Target, fresh_test_key, start_embedded_mock
from wire.codec import encode_body, encode_query

THREADS = 8
PHASE_SECONDS = 2.0
ITERATIONS = 60  # per thread in phase 1: bounded so the invoice stays under Stripe's 250 lines
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with start_embedded_mock(label="concurrency") as started:
        yield started


class Api:
    """A thin form-encoding client over one `requests.Session` (one per thread: sessions are not thread-safe)."""

    def __init__(self, target: Target, key: str):
        self.base = target.base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def post(self, path: str, params: dict | None = None) -> requests.Response:
        return self.session.post(self.base + path, data=encode_body(params or {}), timeout=30,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})

    def get(self, path: str, params: dict | None = None) -> requests.Response:
        return self.session.get(self.base + path, params=encode_query(params or {}), timeout=30)

    def ok(self, method: str, path: str, params: dict | None = None) -> dict:
        resp = self.post(path, params) if method == "POST" else self.get(path, params)
        assert resp.status_code == 200, (method, path, params, resp.status_code, resp.text)
        return resp.json()

    def walk(self, path: str, params: dict | None = None) -> list[dict]:
        """Every object of a list endpoint, page by page."""
        out: list[dict] = []
        cursor: dict[str, Any] = {}
        while True:
            page = self.ok("GET", path, {"limit": 100, **(params or {}), **cursor})
            out.extend(page["data"])
            if not page["has_more"]:
                return out
            cursor = {"starting_after": page["data"][-1]["id"]}


@dataclass
class Log:
    """What one thread did, and what the server said."""

    added: dict[str, int] = field(default_factory=dict)  # description -> amount, for successful add_lines
    own_amount: int = 0  # last successfully written amount of the thread's own line
    removed: bool = False
    last_metadata: str | None = None
    finalize_status: int | None = None
    late_adds: list[int] = field(default_factory=list)  # statuses of add_lines sent after that
    unexpected: list[str] = field(default_factory=list)


def _worker(target: Target, key: str, invoice: str, n: int, own_lines: tuple[str, str], barrier: threading.Barrier,
            finalized: threading.Event, log: Log) -> None:
    api = Api(target, key)
    path = f"/v1/invoices/{invoice}"
    update_line, remove_line = own_lines
    deadline = time.monotonic() + PHASE_SECONDS

    def expect_ok(resp: requests.Response, what: str) -> bool:
        if resp.status_code != 200:
            log.unexpected.append(f"{what}: {resp.status_code} {resp.text[:300]}")
            return False
        return True

    # phase 1: adds, updates of the thread's own line, metadata, one removal; all must succeed
    for i in range(ITERATIONS):
        if time.monotonic() > deadline:
            break
        step = i % 3
        if step == 0:
            desc, amount = f"t{n}-{i}", 1000 * (n + 1) + i
            resp = api.post(f"{path}/add_lines", {"lines": [{"amount": amount, "description": desc}]})
            if expect_ok(resp, f"add {desc}"):
                log.added[desc] = amount
        elif step == 1:
            amount = 10 * (n + 1) + i
            resp = api.post(f"{path}/update_lines", {"lines": [{"id": update_line, "amount": amount}]})
            if expect_ok(resp, f"update_lines {update_line}"):
                log.own_amount = amount
        else:
            value = str(i)
            if expect_ok(api.post(path, {"metadata": {f"t{n}": value}}), "metadata"):
                log.last_metadata = value
        if i == 10:
            resp = api.post(f"{path}/remove_lines", {"lines": [{"id": remove_line, "behavior": "delete"}]})
            log.removed = expect_ok(resp, f"remove_lines {remove_line}")

    # phase 2: half the threads race to finalize while the other half keep adding lines
    barrier.wait(timeout=60)
    if n % 2 == 0:
        resp = api.post(f"{path}/finalize")
        log.finalize_status = resp.status_code
        finalized.set()  # 200, or 400 because another thread finalized it: either way it is finalized now
    else:
        for j in range(4):  # each of these may land before or after the finalize: both are fine, if consistent
            desc, amount = f"t{n}-late{j}", 7 * (n + 1) + j
            resp = api.post(f"{path}/add_lines", {"lines": [{"amount": amount, "description": desc}]})
            if resp.status_code == 200:
                log.added[desc] = amount
                continue
            if resp.status_code != 400:
                log.unexpected.append(f"late add {desc}: {resp.status_code} {resp.text[:300]}")
            break
        assert finalized.wait(timeout=60)
    # once the invoice is known to be finalized, nothing may be added and the thread's line is frozen
    for j in range(2):
        resp = api.post(f"{path}/add_lines", {"lines": [{"amount": 1, "description": f"t{n}-after{j}"}]})
        log.late_adds.append(resp.status_code)
    log.late_adds.append(api.post(f"{path}/update_lines", {"lines": [{"id": update_line, "amount": 1}]}).status_code)
    # metadata stays editable after finalization
    value = f"final-{n}"
    if expect_ok(api.post(path, {"metadata": {f"t{n}": value}}), "metadata after finalize"):
        log.last_metadata = value


def test_no_lost_update_on_one_invoice(target: Target) -> None:
    key = fresh_test_key("conc")
    api = Api(target, key)
    customer = api.ok("POST", "/v1/customers", {"email": "race@example.com"})
    invoice = api.ok("POST", "/v1/invoices", {"customer": customer["id"]})
    path = f"/v1/invoices/{invoice['id']}"
    # two lines per thread, created up front so their IDs are known: one to update, one to remove
    seeded = api.ok("POST", f"{path}/add_lines", {"lines": [{"amount": 1, "description": f"own-{n}"}
                                                            for n in range(2 * THREADS)]})
    own = {line["description"]: line["id"] for line in api.walk(f"{path}/lines")}
    assert len(own) == 2 * THREADS, seeded
    logs = [Log() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    finalized = threading.Event()
    threads = [threading.Thread(target=_worker, args=(target, key, invoice["id"], n,
                                                      (own[f"own-{2 * n}"], own[f"own-{2 * n + 1}"]), barrier,
                                                      finalized, logs[n]))
               for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    problems = [p for log in logs for p in log.unexpected]
    assert problems == [], problems

    final = api.ok("GET", path)
    lines = api.walk(f"{path}/lines")
    by_desc: dict[str, list[dict]] = {}
    for line in lines:
        by_desc.setdefault(line["description"], []).append(line)
    assert len({line["id"] for line in lines}) == len(lines), "a line is listed twice"

    # exactly one finalize won; the others were told the invoice is no longer a draft
    statuses = sorted(log.finalize_status for log in logs if log.finalize_status is not None)
    assert statuses.count(200) == 1 and statuses.count(400) == len(statuses) - 1, statuses
    assert final["status"] == "open"
    assert final["number"] and final["status_transitions"]["finalized_at"]

    # nothing got in once a thread had seen the invoice finalized
    for n, log in enumerate(logs):
        assert log.late_adds == [400, 400, 400], (n, log.late_adds)
        assert not any(d.startswith(f"t{n}-after") for d in by_desc), n

    # every successful add is there exactly once, with its amount; removed lines are gone; updates kept
    expected: dict[str, int] = {}
    for n, log in enumerate(logs):
        expected.update(log.added)
        expected[f"own-{2 * n}"] = log.own_amount or 1
        if not log.removed:
            expected[f"own-{2 * n + 1}"] = 1
    assert {d: [line["amount"] for line in ls] for d, ls in by_desc.items()} == \
        {d: [amount] for d, amount in expected.items()}
    assert final["subtotal"] == sum(line["amount"] for line in lines) == sum(expected.values())
    assert final["total"] == final["subtotal"] == final["amount_due"]
    assert final["amount_remaining"] == final["amount_due"] - final["amount_paid"]

    # every thread's last metadata write is what the invoice shows
    assert final["metadata"] == {f"t{n}": log.last_metadata for n, log in enumerate(logs)}


def _create_items(target: Target, key: str, customer: str, n: int, out: list[str], errors: list[str]) -> None:
    api = Api(target, key)
    for i in range(50):
        resp = api.post("/v1/invoiceitems", {"customer": customer, "amount": 100 + i, "description": f"c{n}-{i}"})
        if resp.status_code == 200:
            out.append(resp.json()["id"])
        else:
            errors.append(f"{resp.status_code} {resp.text[:200]}")


def test_concurrent_creation_lists_each_object_once(target: Target) -> None:
    key = fresh_test_key("create")
    api = Api(target, key)
    customer = api.ok("POST", "/v1/customers", {})["id"]
    created: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[str] = []
    threads = [threading.Thread(target=_create_items, args=(target, key, customer, n, created[n], errors))
               for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    ids = [object_id for chunk in created for object_id in chunk]
    assert len(set(ids)) == THREADS * 50
    walked = [item["id"] for item in api.walk("/v1/invoiceitems", {"customer": customer})]
    assert len(walked) == THREADS * 50 and set(walked) == set(ids)
    # newest first: each thread's own items appear in reverse creation order
    position = {object_id: n for n, object_id in enumerate(walked)}
    for chunk in created:
        assert [position[i] for i in chunk] == sorted((position[i] for i in chunk), reverse=True)
    backwards: list[str] = []
    cursor: dict[str, str] = {"ending_before": walked[-1]}
    backwards.append(walked[-1])
    while True:
        page = api.ok("GET", "/v1/invoiceitems", {"customer": customer, "limit": 100, **cursor})
        backwards[:0] = [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        cursor = {"ending_before": page["data"][0]["id"]}
    assert backwards == walked
