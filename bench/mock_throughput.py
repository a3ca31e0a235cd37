"""Mock server throughput, latency, flatness and memory under a real load generator.

`python -m bench mock [--quick]` starts the mock in its own process (through the bench-only launcher below,
which pre-populates the store in-process and then serves it exactly like `python -m mockserver`), drives it with
`wrk` (installed from Debian when missing and running as root) or, failing that, an asyncio keep-alive load
generator, and prints one table that is also written to reports/bench-mock.md.

`python -m bench.mock_throughput serve --seed N ...` is the launcher: not an API of the mock, only a way to start
it with N realistic invoice items already stored for one key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http.client
import json
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.publish import publish

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "sk_test_bench0000000000000000000001"
AUTH = f"Bearer {BENCH_KEY}"
FORM = "application/x-www-form-urlencoded"
LIST_PATH = "/v1/invoiceitems?limit=10"
ITEMS_PATH = "/v1/invoiceitems"
HOST = "127.0.0.1"

TARGET_LIST_RPS = 6_500
TARGET_RETRIEVE_RPS = 6_500
TARGET_CREATE_RPS = 7_000
TARGET_FLAT_RATIO = 1.5
TARGET_RSS_MB = 300

REQUESTS_PER_SECOND_CAP = 100_000  # every load run is bounded in count as well as in time
START_TIMEOUT = 300.0  # seconds to wait for a launcher (seeding 100k items takes ~10 s)
SEED_LIMIT = 1_000_000


# -- the launcher (runs in the mock's process) -------------------------------------------------------------------


def seed_store(app: object, key: str, count: int) -> tuple[str, list[str]]:
    """Create one customer and `count` invoice items for `key` through the app's own pipeline (no HTTP).

    Each item goes through routing, auth, decoding, validation and the CreateInvoiceItem handler, so stored
    objects are exactly what `POST /v1/invoiceitems` would have stored. Returns (customer ID, item IDs).
    """
    import orjson

    from mockserver.app import MockApp
    from mockserver.messages import Request

    assert isinstance(app, MockApp)
    if not 0 <= count <= SEED_LIMIT:
        raise ValueError(f"seed count must be within 0..{SEED_LIMIT}")
    headers = {"authorization": f"Bearer {key}", "content-type": FORM}

    async def create(path: str, body: bytes) -> str:
        resp = await app.handle(Request("POST", path, b"", dict(headers), body))
        answer = orjson.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
        if resp.status != 200:
            raise RuntimeError(f"seeding through POST {path} failed: {resp.status} {answer}")
        return answer["id"]

    async def run() -> tuple[str, list[str]]:
        customer = await create("/v1/customers", b"email=bench%40example.com")
        body = f"customer={customer}&amount=100&currency=usd".encode()
        return customer, [await create(ITEMS_PATH, body) for _ in range(count)]

    return asyncio.run(run())


def serve(argv: list[str]) -> int:
    """The bench-only launcher: seed a store, then serve it with the settings of `python -m mockserver`."""
    import uvicorn

    from mockserver.app import MockApp

    parser = argparse.ArgumentParser(prog="python -m bench.mock_throughput serve")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="invoice items to store before serving")
    parser.add_argument("--key", default=BENCH_KEY, help="the API key that owns the seeded objects")
    parser.add_argument("--info-file", type=Path, required=True, help="JSON written once listening")
    parser.add_argument("--ids-file", type=Path, help="seeded item IDs, one a line")
    args = parser.parse_args(argv)

    app = MockApp()
    started = time.perf_counter()
    customer, ids = seed_store(app, args.key, args.seed)
    seed_seconds = time.perf_counter() - started
    gc.collect()
    if args.ids_file:
        args.ids_file.write_text("".join(f"{i}\n" for i in ids))
    del ids
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    info = {"port": sock.getsockname()[1], "pid": os.getpid(), "customer": customer, "seeded": args.seed,
            "seed_seconds": round(seed_seconds, 2)}
    tmp = args.info_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, args.info_file)
    try:  # the server setup `python -m mockserver` uses
        from mockserver.server import serve as serve_mock
    except ImportError:  # older trees: the same uvicorn settings, inline
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", loop="uvloop",
                                http="httptools", server_header=False, date_header=False, timeout_keep_alive=30)
        uvicorn.Server(config).run(sockets=[sock])
    else:
        serve_mock(app, sock, "warning")
    return 0


# -- the mock process, seen from the bench ------------------------------------------------------------------------


@dataclass
class MockProcess:
    proc: subprocess.Popen
    port: int
    customer: str
    ids_file: Path
    seeded: int
    seed_seconds: float

    @property
    def pid(self) -> int:
        return self.proc.pid

    def memory_kb(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the mock process, in kB, from /proc/<pid>/status."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the mock process, from /proc/<pid>/stat."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def start_mock(seed: int, workdir: Path) -> MockProcess:
    """Start the launcher in its own process and wait (bounded) until it answers."""
    info_file = workdir / f"mock-{seed}.json"
    ids_file = workdir / f"ids-{seed}.txt"
    log = (workdir / f"mock-{seed}.log").open("wb")
    cmd = [sys.executable, "-m", "bench.mock_throughput", "serve", "--seed", str(seed), "--info-file",
           str(info_file), "--ids-file", str(ids_file)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while not info_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(OSError):
                proc.kill()
            text = (workdir / f"mock-{seed}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the mock launcher did not start (exit {proc.poll()}):\n{text}")
        time.sleep(0.05)
    info = json.loads(info_file.read_text())
    mock = MockProcess(proc, info["port"], info["customer"], ids_file, info["seeded"], info["seed_seconds"])
    for _ in range(200):  # bounded: ~10 s
        try:
            status, _ = http_call(mock.port, "GET", "/v1/invoiceitems?limit=1")
            if status == 200:
                return mock
        except OSError:
            pass
        time.sleep(0.05)
    mock.stop()
    raise RuntimeError("the mock launcher is listening but does not answer")


def http_call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request over loopback (for readiness and sanity checks, not for load)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Authorization": AUTH}
        if body is not None:
            headers["Content-Type"] = FORM
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# -- scenarios and load generators --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One kind of request: a fixed GET, a GET on a random stored item, or a form POST."""

    name: str
    method: str
    path: str
    body: bytes = b""
    random_ids: bool = False  # path + "/" + a random seeded ID


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx answers plus socket errors and timeouts
    cpu_seconds: float = 0.0  # CPU time the mock process spent during the run

    @property
    def cpu_us_per_request(self) -> float:
        """The mock's CPU time per request (less sensitive to other load on the machine than req/s)."""
        return self.cpu_seconds / self.requests * 1e6 if self.requests else 0.0

    @property
    def cpu_busy(self) -> float:
        """How much of one core the mock used during the run (1.0 = a whole core: the mock was the bottleneck)."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def one_core_rps(self) -> float:
        """req/s the mock would serve with a whole core to itself, at this CPU cost per request."""
        return 1e6 / self.cpu_us_per_request if self.cpu_us_per_request else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def scenarios(customer: str) -> dict[str, Scenario]:
    return {
        "list": Scenario("list", "GET", LIST_PATH),
        "retrieve": Scenario("retrieve", "GET", ITEMS_PATH, random_ids=True),
        "create": Scenario("create", "POST", ITEMS_PATH, f"customer={customer}&amount=100&currency=usd".encode()),
    }


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for these ASCII values


def wrk_script(scenario: Scenario, ids_file: Path, max_requests: int) -> str:
    """A wrk Lua script: method, headers and body; random IDs; a request cap; a machine-readable summary."""
    lines = [
        f"wrk.method = {_lua_string(scenario.method)}",
        f"wrk.headers[\"Authorization\"] = {_lua_string(AUTH)}",
        "local max_requests = " + str(max_requests),
        "local seen = 0",
    ]
    if scenario.method == "POST":
        lines += [f"wrk.body = {_lua_string(scenario.body.decode())}",
                  f"wrk.headers[\"Content-Type\"] = {_lua_string(FORM)}"]
    if scenario.random_ids:
        lines += [
            "local ids = {}",
            f"for line in io.lines({_lua_string(str(ids_file))}) do ids[#ids + 1] = line end",
            "math.randomseed(20240601)",
            f"local prefix = {_lua_string(scenario.path + '/')}",
            "request = function() return wrk.format(nil, prefix .. ids[math.random(#ids)]) end",
        ]
    else:
        lines.append(f"wrk.path = {_lua_string(scenario.path)}")
    lines += [
        "response = function(status, headers, body)",
        "  seen = seen + 1",
        "  if seen >= max_requests then wrk.thread:stop() end",
        "end",
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        "  io.write(string.format('BENCH_RESULT {\"requests\": %d, \"duration_us\": %d, \"p50_us\": %d, '",
        "    .. '\"p99_us\": %d, \"failed\": %d}\\n', summary.requests, summary.duration,",
        "    latency:percentile(50), latency:percentile(99),",
        "    e.connect + e.read + e.write + e.status + e.timeout))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def run_wrk(wrk: str, port: int, scenario: Scenario, ids_file: Path, settings: Settings, seconds: int,
            workdir: Path) -> LoadResult:
    script = workdir / f"{scenario.name}.lua"
    script.write_text(wrk_script(scenario, ids_file, max(1_000, seconds * REQUESTS_PER_SECOND_CAP)))
    url = f"http://{HOST}:{port}{scenario.path}"
    cmd = [wrk, f"-t{settings.threads}", f"-c{settings.connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line.removeprefix("BENCH_RESULT "))
            return LoadResult(data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1e3,
                              data["p99_us"] / 1e3, data["failed"])
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


async def _asyncio_load(port: int, make_request: Callable[[], bytes], connections: int, seconds: float,
                        max_requests: int) -> LoadResult:
    """Keep-alive HTTP/1.1 load, one request in flight per connection (no pipelining)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failed = 0
    deadline = loop.time() + seconds

    async def worker() -> None:
        nonlocal failed
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            failed += 1
            return
        try:
            while loop.time() < deadline and len(latencies) < max_requests:
                started = time.perf_counter()
                writer.write(make_request())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                lower = head.lower()
                at = lower.find(b"\r\ncontent-length:")
                length = int(lower[at + 17:lower.index(b"\r\n", at + 2)]) if at >= 0 else 0
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 300:
                    failed += 1
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            failed += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), seconds + 60)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1e3 if ordered else 0.0

    return LoadResult(len(latencies), elapsed, pct(50), pct(99), failed)


def run_asyncio(port: int, scenario: Scenario, ids_file: Path, settings: Settings, seconds: float) -> LoadResult:
    """The fallback load generator, in this process (uvloop when available)."""
    head = f"{scenario.method} {{path}} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: {AUTH}\r\n"
    if scenario.method == "POST":
        head += f"Content-Type: {FORM}\r\nContent-Length: {len(scenario.body)}\r\n"
    head += "\r\n"
    if scenario.random_ids:
        ids = ids_file.read_text().split()
        rng = random.Random(20240601)
        prefix = scenario.path + "/"

        def make_request() -> bytes:
            return head.format(path=prefix + rng.choice(ids)).encode()
    else:
        fixed = head.format(path=scenario.path).encode() + scenario.body

        def make_request() -> bytes:
            return fixed

    cap = max(1_000, int(seconds * REQUESTS_PER_SECOND_CAP))
    coro = _asyncio_load(port, make_request, settings.connections, seconds, cap)
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    except ImportError:
        return asyncio.run(coro)


def ensure_wrk(install: bool) -> str | None:
    """The wrk binary; installed with apt-get (Debian) when missing, allowed and running as root."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    note("wrk is missing: installing it with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        try:
            subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=True)
        except (subprocess.SubprocessError, OSError) as exc:
            note(f"could not install wrk ({exc}); using the asyncio load generator")
            return None
    return shutil.which("wrk")


# -- the benchmark --------------------------------------------------------------------------------------------------


@dataclass
class Settings:
    seconds: int = 5
    warmup: int = 1
    rounds: int = 3  # measured runs per scenario; the median (by req/s) is reported
    connections: int = 64
    threads: int = 1
    sizes: tuple[int, ...] = (100, 10_000, 100_000)
    main_size: int = 10_000
    loadgen: str = "auto"
    install: bool = True
    report: Path = ROOT / "reports" / "bench-mock.md"
    quick: bool = False
    argv: tuple[str, ...] = ()  # the options given, for the report's "reproduce" line


@dataclass
class Row:
    number: str
    scenario: str
    objects: str
    result: LoadResult | None = None
    metric: str = ""
    target: str = ""
    ok: bool | None = None


@dataclass
class Run:
    settings: Settings
    loadgen: str = ""
    results: dict[tuple[str, int], LoadResult] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)
    seed_seconds: dict[int, float] = field(default_factory=dict)
    load_average: list[float] = field(default_factory=list)  # 1-minute load average at start and at end


def note(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def measure_once(run: Run, wrk: str | None, mock: MockProcess, scenario: Scenario, workdir: Path) -> LoadResult:
    """One measured run, with the mock's CPU time over it."""
    cpu_before = mock.cpu_seconds()
    result = _load(wrk, mock, scenario, run.settings, run.settings.seconds, workdir)
    result.cpu_seconds = mock.cpu_seconds() - cpu_before
    note(f"{scenario.name:<8} @ {mock.seeded:>7,} items: {result.rps:>8,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
         f"p99 {result.p99_ms:6.2f} ms  failed {result.failed}  mock CPU {result.cpu_busy:.0%}, "
         f"{result.cpu_us_per_request:.0f} us/req")
    return result


def median(results: list[LoadResult]) -> LoadResult:
    """The median round, by req/s (its latency figures come with it)."""
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def _load(wrk: str | None, mock: MockProcess, scenario: Scenario, settings: Settings, seconds: int,
          workdir: Path) -> LoadResult:
    if wrk:
        return run_wrk(wrk, mock.port, scenario, mock.ids_file, settings, seconds, workdir)
    return run_asyncio(mock.port, scenario, mock.ids_file, settings, seconds)


def check_answers(mock: MockProcess, cases: dict[str, Scenario]) -> None:
    """Each scenario answers 200 once before it is loaded (a misconfigured bench must not measure 4xx)."""
    first_id = mock.ids_file.read_text().split("\n", 1)[0]
    for sc in cases.values():
        path = f"{sc.path}/{first_id}" if sc.random_ids else sc.path
        status, body = http_call(mock.port, sc.method, path, sc.body if sc.method == "POST" else None)
        if status != 200:
            raise RuntimeError(f"{sc.method} {path} answered {status}: {body[:300]!r}")


def execute(settings: Settings) -> Run:
    run = Run(settings, load_average=[os.getloadavg()[0]])
    wrk = None
    if settings.loadgen in ("auto", "wrk"):
        wrk = ensure_wrk(settings.install)
        if wrk is None and settings.loadgen == "wrk":
            raise RuntimeError("wrk is not installed (and could not be installed)")
    if wrk:
        version = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10, check=False)
        run.loadgen = (version.stdout or version.stderr).splitlines()[0].split(" Copyright")[0].strip()
    else:
        run.loadgen = "asyncio fallback (bench/mock_throughput.py, keep-alive HTTP/1.1, no pipelining)"
    note(f"load generator: {run.loadgen}")
    sizes = sorted(settings.sizes)
    big = sizes[-1]
    with tempfile.TemporaryDirectory(prefix="bench-mock-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        mocks: dict[int, MockProcess] = {}
        for size in sizes:  # all sizes side by side (idle ones cost no CPU), measured in interleaved rounds
            note(f"starting the mock with {size:,} invoice items")
            mocks[size] = mock = start_mock(size, workdir)
            stack.callback(mock.stop)
            run.seed_seconds[size] = mock.seed_seconds
            check_answers(mock, {k: v for k, v in scenarios(mock.customer).items() if k != "create"})
        run.memory.update({f"seeded_{k}": v for k, v in mocks[big].memory_kb().items()})
        reads = ("list", "retrieve")
        if settings.warmup:
            for size in sizes:
                for name in reads:
                    _load(wrk, mocks[size], scenarios(mocks[size].customer)[name], settings, settings.warmup, workdir)
        # Rounds interleave the sizes, so that other load on the machine drifting over time hits every size alike.
        rounds: dict[tuple[str, int], list[LoadResult]] = {(n, size): [] for n in reads for size in sizes}
        for _ in range(settings.rounds):
            for size in sizes:
                for name in reads:
                    mock = mocks[size]
                    rounds[(name, size)].append(measure_once(run, wrk, mock, scenarios(mock.customer)[name], workdir))
        run.results.update({key: median(found) for key, found in rounds.items()})
        run.memory.update({f"loaded_{k}": v for k, v in mocks[big].memory_kb().items()})
        main = mocks[settings.main_size]
        create = scenarios(main.customer)["create"]
        check_answers(main, {"create": create})
        if settings.warmup:
            _load(wrk, main, create, settings, settings.warmup, workdir)
        run.results[("create", settings.main_size)] = median(
            [measure_once(run, wrk, main, create, workdir) for _ in range(settings.rounds)])
    run.load_average.append(os.getloadavg()[0])
    return run


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def rows(run: Run) -> list[Row]:
    s = run.settings
    main, small, big = s.main_size, min(s.sizes), max(s.sizes)
    out = [
        _target_row("1", "GET /v1/invoiceitems?limit=10 (list)", _fmt_int(main), run.results[("list", main)],
                    TARGET_LIST_RPS),
        _target_row("2", "GET /v1/invoiceitems/{id} (retrieve, random id)", _fmt_int(main),
                    run.results[("retrieve", main)], TARGET_RETRIEVE_RPS),
        _target_row("3", "POST /v1/invoiceitems (create)", f"{_fmt_int(main)} + new",
                    run.results[("create", main)], TARGET_CREATE_RPS),
    ]
    for name in ("list", "retrieve"):
        for size in sorted(s.sizes):
            out.append(Row("4", f"{name} flatness", _fmt_int(size), run.results[(name, size)]))
        lo, hi = run.results[(name, small)], run.results[(name, big)]
        p50_ratio = hi.p50_ms / lo.p50_ms if lo.p50_ms else float("inf")
        rps_ratio = lo.rps / hi.rps if hi.rps else float("inf")
        cpu_ratio = hi.cpu_us_per_request / lo.cpu_us_per_request if lo.cpu_us_per_request else float("inf")
        worst = max(p50_ratio, rps_ratio)
        out.append(Row("4", f"{name} ratio {_short(big)} vs {_short(small)}", "",
                       metric=f"p50 x{p50_ratio:.2f}, req/s slowdown x{rps_ratio:.2f} (CPU us/req x{cpu_ratio:.2f})",
                       target=f"<= {TARGET_FLAT_RATIO}x", ok=worst <= TARGET_FLAT_RATIO))
    seeded = run.memory.get("seeded_VmRSS", 0) / 1024
    loaded = run.memory.get("loaded_VmRSS", 0) / 1024
    peak = run.memory.get("loaded_VmHWM", 0) / 1024
    out.append(Row("5", "mock RSS (VmRSS) with invoice items stored", _fmt_int(big),
                   metric=f"{max(seeded, loaded):.0f} MB (seeded {seeded:.0f}, after load {loaded:.0f}, "
                          f"peak {peak:.0f})",
                   target=f"<= {TARGET_RSS_MB} MB", ok=max(seeded, loaded) <= TARGET_RSS_MB))
    return out


def _short(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _target_row(number: str, scenario: str, objects: str, result: LoadResult, target: int) -> Row:
    return Row(number, scenario, objects, result, target=f">= {target:,} req/s", ok=result.rps >= target)


def table(items: list[Row]) -> str:
    head = ["#", "scenario", "stored", "req/s", "p50 ms", "p99 ms", "failed", "mock CPU", "CPU us/req",
            "req/s at 1 core", "ratio / memory", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in items:
        res = r.result
        figures = [f"{res.rps:,.0f}", f"{res.p50_ms:.2f}", f"{res.p99_ms:.2f}", str(res.failed),
                   f"{res.cpu_busy:.0%}", f"{res.cpu_us_per_request:.0f}", f"{res.one_core_rps:,.0f}"] \
            if res else [""] * 7
        cells = [r.number, r.scenario, r.objects, *figures, r.metric, r.target,
                 "" if r.ok is None else ("yes" if r.ok else "NO")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(run: Run) -> str:
    s = run.settings
    seeds = ", ".join(f"{_fmt_int(k)} in {v:.1f} s" for k, v in sorted(run.seed_seconds.items()))
    lines = [
        "# Mock server benchmark" + (" (quick smoke run: figures are not meaningful)" if s.quick else ""),
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"- load generator: {run.loadgen}",
        f"- load: {s.connections} connections{f', {s.threads} wrk thread(s)' if run.loadgen.startswith('wrk') else ''}"
        f", {s.seconds} s per measured run after a {s.warmup} s warm-up"
        + (f", median of {s.rounds} rounds (interleaved across sizes)" if s.rounds > 1 else "")
        + "; loopback; the mock is one process (uvicorn + httptools + uvloop)",
        f"- machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}; 1-minute load "
        f"average {' -> '.join(f'{x:.1f}' for x in run.load_average)} (above ~2, other processes took CPU time from "
        "the mock and wrk)",
        f"- seeding (in-process, through the app's pipeline): {seeds}",
        "- latency is per request as seen by the load generator; `failed` = non-2xx + socket errors + timeouts; "
        "`mock CPU` = share of one core the mock process used (from /proc/<pid>/stat; well under 100% means it "
        "waited for a CPU held by other processes); `req/s at 1 core` = 1e6 / `CPU us/req`",
        "",
        table(rows(run)),
        "",
        f"Reproduce: `{shlex.join(['python', '-m', 'bench', 'mock', *s.argv])}` (see bench/README.md).",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m bench mock", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 round of 1 s per scenario, no warm-up, sizes 100/1,000/5,000")
    parser.add_argument("--seconds", type=int, help="seconds per measured run (default 5; 1 with --quick)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds before each scenario (default 1; 0 --quick)")
    parser.add_argument("--rounds", type=int,
                        help="measured runs per scenario, the median by req/s is reported (default 3; 1 --quick)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--sizes", help="stored items for the flatness runs, e.g. 100,10000,100000")
    parser.add_argument("--main-size", type=int, help="stored items for scenarios 1-3 (default 10000)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "asyncio"], default="auto")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--report", type=Path, help="markdown report (default reports/bench-mock.md, "
                                                    "reports/bench-mock-quick.md with --quick)")
    args = parser.parse_args(argv)
    s = Settings(quick=args.quick, connections=args.connections, threads=args.threads, loadgen=args.loadgen,
                 install=not args.no_install, argv=tuple(argv))
    if args.quick:
        s.seconds, s.warmup, s.rounds, s.sizes, s.main_size = 1, 0, 1, (100, 1_000, 5_000), 1_000
        s.report = ROOT / "reports" / "bench-mock-quick.md"
    if args.seconds is not None:
        s.seconds = args.seconds
    if args.warmup is not None:
        s.warmup = args.warmup
    if args.rounds is not None:
        s.rounds = args.rounds
    if args.sizes:
        s.sizes = tuple(int(x) for x in args.sizes.split(","))
    if args.main_size is not None:
        s.main_size = args.main_size
    if args.report:
        s.report = args.report
    if not (1 <= s.seconds <= 600 and 0 <= s.warmup <= 60 and 1 <= s.connections <= 1024 and 1 <= s.rounds <= 9
            and 1 <= s.threads <= 16):
        parser.error("seconds must be 1..600, warmup 0..60, connections 1..1024, rounds 1..9, threads 1..16")
    if s.main_size not in s.sizes or any(not 1 <= n <= SEED_LIMIT for n in s.sizes):
        parser.error(f"--main-size must be one of --sizes, and sizes within 1..{SEED_LIMIT:,}")
    return s


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(sys.argv[1:] if argv is None else argv)
    run = execute(settings)
    text = render(run)
    publish(text, settings.report, note)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(serve(sys.argv[2:]))
    sys.exit(main())
