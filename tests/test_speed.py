"""The pieces that make the suites fast keep their meaning: strategies built once per pool shape still draw the
real IDs, the indexed hint tables answer what matching every pattern answers, the first pass runs every
generating test once before the deep ones, and the benchmark's delaying proxy delays."""

from __future__ import annotations

import http.server
import os
import re
import socket
import threading
import time
import types
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.suites_throughput import DelayProxy
from contracts.loader import load_contract
from harness import passes, plugin
from strategies import Refs, invalid_requests, valid_requests
from strategies import requests as request_strategies
from strategies.hints import GLOBAL_HINTS, OPERATION_HINTS, HintTable, _matches

CONTRACT = load_contract()


def _refs(invoice: str, customer: str) -> Refs:
    return Refs(pools={"customer": [customer], "payment_method": ["pm_card_visa"], "invoice:draft": [invoice]},
                attrs={invoice: {"customer": customer, "currency": "usd"}})


@pytest.mark.parametrize("build", [valid_requests, invalid_requests])
def test_a_strategy_is_built_once_per_pool_shape_and_draws_the_real_ids(build) -> None:
    op = CONTRACT["UpdateInvoice"]
    request_strategies._cache.clear()
    seen: list[tuple[str, str]] = []
    def run(invoice: str, customer: str) -> None:
        @settings(max_examples=5, database=None, deadline=None)
        @given(build(op, _refs(invoice, customer)))
        def check(req) -> None:
            assert req.path_params["invoice"] == invoice and req.path == f"/v1/invoices/{invoice}"
            text = repr((req.params, req.raw_pairs, req.label))
            assert chr(126) * 2 not in text, f"a placeholder was left in {text}"
            seen.append((req.path_params["invoice"], invoice))

        check()

    for n in range(3):
        run(f"in_shape{n}", f"cus_shape{n}")
    assert len(request_strategies._cache) == 1, "three pools of one shape, one build"
    assert {a for a, _ in seen} == {"in_shape0", "in_shape1", "in_shape2"}


def test_a_missing_pool_still_raises_with_the_real_names() -> None:
    op = CONTRACT["UpdateInvoice"]
    with pytest.raises(LookupError):
        valid_requests(op, Refs(pools={"customer": ["cus_only"]}))
    with pytest.raises(LookupError):  # the cached failure raises again
        valid_requests(op, Refs(pools={"customer": ["cus_other"]}))


segments = st.lists(st.sampled_from(["lines", "0", "period", "currency", "metadata", "customer", "expand", "x",
                                     "payment_settings", "automatic_tax", "enabled", "tax_rates", "price_data"]),
                    max_size=5)


@given(segments, st.sampled_from(sorted(OPERATION_HINTS)))
def test_indexed_lookup_answers_what_matching_every_pattern_answers(segs: list[str], operation_id: str) -> None:
    table = HintTable(GLOBAL_HINTS, OPERATION_HINTS[operation_id].fields)
    naive = [hint for entry in table._entries if _matches(entry.pattern, segs) for hint in entry.hints]
    assert table.lookup(segs) == naive
    assert table.lookup(segs) == naive  # and again, from the memo


def _with_given():
    @given(st.integers())
    def inner(x: int) -> None:
        pass

    inner()


def _plain():
    return 1


def test_generating_tests_are_recognised_from_their_code() -> None:
    def item(func):
        return types.SimpleNamespace(obj=func)

    assert passes.generates_examples(item(_with_given))
    assert not passes.generates_examples(item(_plain))


def test_families_are_interleaved_round_robin() -> None:
    def item(path: str, name: str, n: int):
        return types.SimpleNamespace(path=path, originalname=name, name=f"{name}[{n}]")

    items = [item("a.py", "t1", n) for n in range(3)] + [item("a.py", "t2", 0)] + [item("b.py", "t1", 0)]
    order = [(i.path, i.name) for i in passes._interleaved(items)]
    assert order == [("a.py", "t1[0]"), ("a.py", "t2[0]"), ("b.py", "t1[0]"), ("a.py", "t1[1]"), ("a.py", "t1[2]")]


@pytest.mark.parametrize("runs", [1, 3, 4, 7, 32])
def test_deep_shards_share_a_machines_runs(runs: int) -> None:
    shards = min(passes.MACHINE_SHARDS, runs)
    shares = [passes.shard_share(runs, f"{passes.DEEP}-{i}of{shards}") for i in range(1, shards + 1)]
    assert sum(shares) == runs and max(shares) - min(shares) <= 1 and min(shares) >= 1
    assert passes.shard_share(runs, passes.DEEP) == runs


def test_the_delay_proxy_holds_each_answer() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    proxy = DelayProxy(server.getsockname()[1], 0.2).start()
    try:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        upstream, _ = server.accept()
        client.sendall(b"ping")
        assert upstream.recv(4) == b"ping"
        started = time.monotonic()
        upstream.sendall(b"pong")
        assert client.recv(4) == b"pong"
        assert time.monotonic() - started >= 0.19
        client.close()
        upstream.close()
    finally:
        proxy.stop()
        server.close()


def test_the_deep_pass_starts_with_the_state_machines_shards() -> None:
    """Collected order: the first pass (and the tests that generate nothing), then the deep pass starting with the
    state machines' shards, its longest tests, each followed by another deep test."""
    from tests.test_sharding import collect_all

    (ids,) = collect_all([])
    kinds = ["deep shard" if re.search(r"deep-\d+of\d+\]$", i) else "deep" if re.search(r"[-\[]deep\]$", i)
             else "first" for i in ids]
    assert "deep shard" in kinds and "deep" in kinds
    shards = [n for n, kind in enumerate(kinds) if kind == "deep shard"]
    firsts = [n for n, kind in enumerate(kinds) if kind == "first"]
    start = max(firsts) + 1
    assert start == min(shards), ids[start]
    # every other test, from the start of the deep pass, until the shards run out: never two in a row
    assert shards == list(range(start, start + 2 * len(shards), 2)), [ids[n] for n in shards[:4]]


@pytest.mark.parametrize(("first_pass", "given", "expected"), [("on", None, 1), ("on", 8, 8), ("off", None, None)])
def test_xdist_hands_out_tests_one_at_a_time_unless_told(first_pass: str, given: int | None,
                                                         expected: int | None) -> None:
    config = types.SimpleNamespace(option=types.SimpleNamespace(maxschedchunk=given),
                                   getoption=lambda name: first_pass)
    passes.pytest_configure(config)  # type: ignore[arg-type]
    assert config.option.maxschedchunk == expected


class _Answers(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        body = b'{"object": "list", "data": []}'
        # One write: headers and body sent apart would meet Nagle's algorithm and the client's delayed ACK (40 ms).
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering(request: pytest.FixtureRequest) -> Iterator[str]:
    """The base URL of a server answering every GET after `request.param` seconds."""
    handler = type("Handler", (_Answers,), {"delay": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _auto_workers(base_url: str | None) -> tuple[int, str]:
    config = types.SimpleNamespace(getoption=lambda name: {"--base-url": base_url, "--api-key": "sk_test_x"}[name],
                                   stash=pytest.Stash())
    workers = plugin.pytest_xdist_auto_num_workers(config)  # type: ignore[arg-type]
    return workers, "\n".join(plugin.pytest_report_header(config))  # type: ignore[arg-type]


@pytest.mark.parametrize("answering", [0.0], indirect=True)
def test_auto_gives_a_target_on_this_machine_one_worker_per_core(answering: str, monkeypatch) -> None:
    monkeypatch.delenv("HARNESS_WORKERS_PER_CORE", raising=False)
    workers, header = _auto_workers(answering)
    assert workers == _cores() and "1 per core (the target answers in" in header


@pytest.mark.parametrize("answering", [0.03], indirect=True)
def test_auto_gives_a_target_tens_of_ms_away_several_workers_per_core(answering: str, monkeypatch) -> None:
    monkeypatch.delenv("HARNESS_WORKERS_PER_CORE", raising=False)
    workers, header = _auto_workers(answering)
    assert workers == _cores() * plugin.WORKERS_PER_CORE_REMOTE
    assert re.search(r"answers in 3\d\.\d ms; HARNESS_WORKERS_PER_CORE changes it", header)


def test_auto_workers_per_core_can_be_set_and_a_bad_figure_is_a_usage_error(monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_WORKERS_PER_CORE", "3")
    assert _auto_workers(f"http://127.0.0.1:{_dead_port()}")[0] == 3 * _cores()
    assert _auto_workers(None)[0] == _cores()  # the embedded mock: one per core whatever the figure
    monkeypatch.setenv("HARNESS_WORKERS_PER_CORE", "six")
    with pytest.raises(pytest.UsageError, match="HARNESS_WORKERS_PER_CORE takes a whole number"):
        _auto_workers("http://127.0.0.1:9")


def test_auto_without_an_answer_assumes_a_distant_target(monkeypatch) -> None:
    monkeypatch.delenv("HARNESS_WORKERS_PER_CORE", raising=False)
    workers, header = _auto_workers(f"http://127.0.0.1:{_dead_port()}")
    assert workers == _cores() * plugin.WORKERS_PER_CORE_REMOTE and "no answer to time" in header


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
