"""Throughput of our suites: checked requests per second for `pytest suites -n 2 --profile ci`, report weight.

`python -m bench suites [--profile ci] [--workers 2] [--rounds 1] [--vs-ref REV] [--latency MS] [--html]`

One run is `python -m pytest suites -n W --profile P` with `--alluredir` and `--junitxml`, started in the checkout
being measured, with its own reports folder (HARNESS_REPORTS_DIR). Figures per run:

- checked requests: every exchange the harness client recorded and handed to the checks (the per-worker coverage
  parts the harness plugin writes count them);
- checked requests / s: those divided by pytest's wall time (process start to exit: start-up, collection and
  worker launch included);
- state-machine steps, when the run summary prints them (`state-machine steps: N`);
- report weight: files and MB of allure-results; with `--html`, the time `python -m harness.report generate`
  takes to render the HTML and its size (and with `--single-file`, the single-file report's size).

`--vs-ref REV` measures the same runs on another revision too (checked out into a temporary git worktree), the
two alternating (A B A B ...) so that load which drifts during the call does not favour one side; the table
gives both and their ratio. `--latency MS` runs every suite against one mock (started from the measured checkout)
twice: directly on loopback, and behind a proxy that holds each response for MS milliseconds, as a staging server
tens of milliseconds away would; the table gives the ratio of the two wall times.

Prints a table and writes it to reports/bench-suites.md (`--report PATH` to change it).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.publish import publish
from harness.target import Target, fresh_test_key

ROOT = Path(__file__).resolve().parent.parent
STEPS_LINE = re.compile(r"state-machine steps:\s*([\d,]+)")
MB = 1e6


def note(msg: str) -> None:
    print(f"[suites] {msg}", file=sys.stderr, flush=True)


# -- a delaying proxy ------------------------------------------------------------------------------------------


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed, else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class DelayProxy:
    """A TCP proxy on loopback that forwards requests at once and holds each chunk of the answer `delay` s.

    Chunks keep their order; a response that arrives in one chunk (every mock answer) is late by `delay`.
    Runs its own event loop in a daemon thread; `stop()` closes it. Built on asyncio protocols and one timer per
    connection side, on uvloop's event loop where it is installed (the mock's, with uvicorn[standard]), so that
    the emulated network takes as little as it can of the CPU the harness and the mock share: a real network
    30 ms away costs the test machine nothing. Its CPU per exchange, 14 clients through it at +30 ms: ~90 µs on
    uvloop, ~150 µs on asyncio's own loop, ~190 µs with streams and a task per chunk.
    """

    def __init__(self, upstream_port: int, delay: float) -> None:
        self.upstream_port, self.delay = upstream_port, delay
        self.port = 0
        self._loop = _event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._relays: set[_Relay] = set()

    def start(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def stop(self) -> None:
        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for relay in list(self._relays):
                relay.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(timeout=5)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _Relay(self, 0.0), "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()


class _Relay(asyncio.Protocol):
    """One side of a proxied connection: what it receives leaves through its peer `delay` s later, in order (an
    empty chunk: the end, which closes the peer). The client's side opens the upstream side when it connects."""

    def __init__(self, proxy: DelayProxy, delay: float, peer: _Relay | None = None) -> None:
        self.proxy, self.delay, self.peer = proxy, delay, peer
        self.transport: asyncio.Transport | None = None
        self._due: collections.deque[tuple[float, bytes]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._waiting: list[bytes] = []  # what arrived before the peer was connected
        self._connecting: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.proxy._relays.add(self)
        if self.peer is None:  # the client's side: open the upstream side, whose answers are delayed
            self._connecting = asyncio.ensure_future(self._connect_upstream())
        else:  # the upstream side: the client's side can forward what it holds
            self.peer.attach(self)

    async def _connect_upstream(self) -> None:
        loop = self.proxy._loop
        try:
            await loop.create_connection(lambda: _Relay(self.proxy, self.proxy.delay, self), "127.0.0.1",
                                         self.proxy.upstream_port)
        except OSError:
            self.close()

    def attach(self, peer: _Relay) -> None:
        self.peer = peer
        for data in self._waiting:
            self._deliver(data)
        self._waiting.clear()

    def data_received(self, data: bytes) -> None:
        self._queue(data)

    def eof_received(self) -> bool:
        self._queue(b"")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.proxy._relays.discard(self)
        self._queue(b"")

    def _queue(self, data: bytes) -> None:
        if self.delay <= 0:
            self._deliver(data)
            return
        loop = self.proxy._loop
        self._due.append((loop.time() + self.delay, data))
        if self._timer is None:
            self._timer = loop.call_at(self._due[0][0], self._flush)

    def _flush(self) -> None:
        self._timer = None
        now = self.proxy._loop.time()
        while self._due and self._due[0][0] <= now:
            self._deliver(self._due.popleft()[1])
        if self._due:
            self._timer = self.proxy._loop.call_at(self._due[0][0], self._flush)

    def _deliver(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self._waiting.append(data)
        elif data:
            if not peer.transport.is_closing():
                peer.transport.write(data)
        else:
            peer.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


# -- one run ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    wall: float
    code: int | None
    cpu: float = 0.0  # user + system seconds of pytest, its workers and their mocks
    exchanges: int = 0
    tests: int = 0
    failed: int = 0
    steps: int | None = None
    results_files: int = 0
    results_mb: float = 0.0
    html_seconds: float | None = None
    html_mb: float | None = None
    single_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.exchanges / self.wall if self.wall else 0.0

    @property
    def per_cpu(self) -> float:
        return self.exchanges / self.cpu if self.cpu else 0.0


def env_for(code: Path, reports: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_ADDOPTS"))}
    env["PYTHONPATH"] = str(code)
    if env.pop("PYTHONDONTWRITEBYTECODE", None):  # as ./run does: bytecode cached, but outside the checkouts
        env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "harness-bench-pycache"))
    if reports is not None:
        env["HARNESS_REPORTS_DIR"] = str(reports)
    return env


@contextlib.contextmanager
def mock_of(code: Path, work: Path) -> Iterator[Target]:
    """`python -m mockserver` of the checkout `code`, on a free loopback port (a checkout of another commit: not
    `harness.target.start_embedded_mock`, which starts this one's)."""
    port_file = work / "mock.port"
    port_file.unlink(missing_ok=True)
    log = (work / "mock.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "--host", "127.0.0.1", "--port", "0",
                             "--port-file", str(port_file)], cwd=code, env=env_for(code), stdout=log,
                            stderr=subprocess.STDOUT)
    mock = Target("", fresh_test_key("bench"), fresh_test_key("other"), embedded=True, process=proc)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the mock did not start: {(work / 'mock.log').read_text()[-1000:]}")
            time.sleep(0.05)
        time.sleep(0.3)
        mock.base_url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        yield mock
    finally:
        mock.stop()
        log.close()


def size_of(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return len(files), sum(p.stat().st_size for p in files) / MB


def run_suites(label: str, code: Path, args: argparse.Namespace, work: Path, base_url: str | None = None,
               mock: Target | None = None) -> Run:
    reports = work / f"reports-{label.replace(' ', '-')}"
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    results, junit, output = reports / "allure-results", reports / "junit.xml", reports / "pytest.log"
    cmd = [sys.executable, "-m", "pytest", "suites", "-n", str(args.workers), "--profile", args.profile,
           "-p", "no:cacheprovider", "-q", "-rfE", "--alluredir", str(results), f"--junitxml={junit}",
           *args.pytest_args]
    if base_url is not None and mock is not None:
        # The target is this benchmark's own mock: no pace (a --base-url run is paced at 20 requests/s unless
        # told otherwise) and no clean-up at the end (the mock goes away with the benchmark).
        cmd += ["--base-url", base_url, "--api-key", mock.api_key, "--second-api-key", mock.second_api_key,
                "--max-rps", "unlimited", "--keep-objects"]
    note(f"{label}: {' '.join(cmd[1:8])} ... (in {code})")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with output.open("wb") as out:
        proc = subprocess.run(cmd, cwd=code, env=env_for(code, reports), stdout=out, stderr=subprocess.STDOUT,
                              timeout=args.timeout, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = Run(label, time.monotonic() - started, proc.returncode,
              cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    for part in sorted((reports / "coverage-parts").glob("*.json")):
        run.exchanges += sum(int(d.get("calls", 0)) for d in json.loads(part.read_text()).values())
    if junit.exists():
        with contextlib.suppress(ET.ParseError):
            cases = list(ET.parse(junit).getroot().iter("testcase"))
            run.tests = len(cases)
            run.failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
    text = output.read_text(errors="replace")
    found = STEPS_LINE.findall(text)
    if found:
        run.steps = int(found[-1].replace(",", ""))
    run.results_files, run.results_mb = size_of(results)
    if args.html:
        html = reports / "html"
        extra = ["--single-file"] if args.single_file else []
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "harness.report", "generate", "--reports-dir", str(reports), *extra,
                        str(results)], cwd=code, env=env_for(code, reports), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=args.timeout, check=False)
        run.html_seconds = time.monotonic() - started
        _, html_mb = size_of(html)
        run.html_mb = html_mb
        if args.single_file and (html / "index.html").exists():
            run.single_mb = (html / "index.html").stat().st_size / MB
    note(f"{label}: {run.exchanges} requests in {run.wall:.1f} s = {run.rate:.0f}/s ({run.per_cpu:.0f} per CPU s), "
         f"{run.tests} tests, "
         f"{run.failed} failed, steps {run.steps}, results {run.results_files} files {run.results_mb:.0f} MB"
         + (f", HTML {run.html_mb:.0f} MB in {run.html_seconds:.1f} s" if run.html_seconds is not None else ""))
    if not args.keep:
        shutil.rmtree(results, ignore_errors=True)
        shutil.rmtree(reports / "html", ignore_errors=True)
    return run


@contextlib.contextmanager
def checkout(ref: str, work: Path) -> Iterator[Path]:
    """`ref` checked out (detached) in a temporary git worktree, removed afterwards."""
    path = work / f"ref-{re.sub(r'[^A-Za-z0-9]+', '-', ref)}"
    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(path), ref], cwd=ROOT, check=True,
                   capture_output=True)
    nm = ROOT / "node_modules"
    if nm.exists():
        (path / "node_modules").symlink_to(nm.resolve())
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False,
                       capture_output=True)


def describe(code: Path) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True,
                            check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "suites", "harness", "strategies", "contracts",
                            "mockserver"], cwd=code, capture_output=True, text=True, check=False).stdout.strip()
    return commit + (" + uncommitted changes" if dirty else "")


# -- the table -------------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def column(runs: list[Run]) -> dict[str, str]:
    steps = [r.steps for r in runs if r.steps is not None]
    html = [r.html_seconds for r in runs if r.html_seconds is not None]
    html_mb = [r.html_mb for r in runs if r.html_mb is not None]
    single = [r.single_mb for r in runs if r.single_mb is not None]
    return {
        "checked requests / s (median)": fmt(median([r.rate for r in runs])),
        "checked requests / s (each run)": ", ".join(f"{r.rate:.0f}" for r in runs),
        "checked requests / CPU s (median)": fmt(median([r.per_cpu for r in runs])),
        "checked requests": fmt(median([float(r.exchanges) for r in runs])),
        "pytest wall s (median)": fmt(median([r.wall for r in runs]), ".1f"),
        "tests / failed": f"{runs[-1].tests} / {runs[-1].failed}",
        "state-machine steps": fmt(median([float(s) for s in steps])) if steps else "-",
        "allure-results files": fmt(median([float(r.results_files) for r in runs])),
        "allure-results MB": fmt(median([r.results_mb for r in runs]), ".1f"),
        "HTML render s": fmt(median(html), ".1f") if html else "-",
        "HTML MB": fmt(median(html_mb), ".1f") if html_mb else "-",
        "single-file MB": fmt(median(single), ".1f") if single else "-",
    }


def table(columns: dict[str, list[Run]], ratio: tuple[str, str] | None) -> str:
    names = list(columns)
    cols = {n: column(r) for n, r in columns.items()}
    lines = ["| figure | " + " | ".join(names) + (" | ratio |" if ratio else " |"),
             "|---|" + "---|" * (len(names) + (1 if ratio else 0))]
    for key in next(iter(cols.values())):
        row = f"| {key} | " + " | ".join(cols[n][key] for n in names)
        if ratio:
            a, b = ratio
            fields = {"checked requests / s (median)": lambda r: r.rate, "pytest wall s (median)": lambda r: r.wall,
                      "checked requests / CPU s (median)": lambda r: r.per_cpu}
            if key in fields:
                field_of = fields[key]
                va, vb = median([field_of(r) for r in columns[a]]), median([field_of(r) for r in columns[b]])
                row += f" | {va / vb:.2f}\u00d7" if vb else " | -"
            else:
                row += " | "
        lines.append(row + " |")
    return "\n".join(lines)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench suites", description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="ci")
    p.add_argument("--workers", default="2", help="pytest-xdist -n (a number or auto)")
    p.add_argument("--rounds", type=int, default=1, help="runs of each side")
    p.add_argument("--vs-ref", default=None, help="also measure this git revision (A B A B ...)")
    p.add_argument("--latency", type=float, default=None, metavar="MS",
                   help="loopback vs. a proxy adding MS milliseconds to every response")
    p.add_argument("--html", action="store_true", help="also render the HTML report and time it")
    p.add_argument("--single-file", action="store_true", help="with --html: the single-file report")
    p.add_argument("--keep", action="store_true", help="keep allure-results and html in the work folder")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--report", type=Path, default=ROOT / "reports" / "bench-suites.md")
    p.add_argument("--quick", action="store_true", help="smoke: --profile quick, one suite file")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args(argv)
    if args.quick:
        args.profile = "quick"
        args.pytest_args = [*args.pytest_args, "-k", "minimal_valid_request"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-suites-"))
    work.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()]
    columns: dict[str, list[Run]] = {}
    ratio: tuple[str, str] | None = None
    sides: list[tuple[str, Path]] = [(f"this checkout ({describe(ROOT)})", ROOT)]
    with contextlib.ExitStack() as stack:
        if args.vs_ref:
            ref_path = stack.enter_context(checkout(args.vs_ref, work))
            sides.append((f"{args.vs_ref} ({describe(ref_path)})", ref_path))
        for round_no in range(args.rounds):
            for name, code in sides:
                if args.latency is None:
                    columns.setdefault(name, []).append(run_suites(f"{name[:12]} r{round_no}", code, args, work))
                    continue
                for mode, delay in (("loopback", 0.0), (f"+{args.latency:g} ms", args.latency / 1000)):
                    with mock_of(code, work) as mock:
                        proxy = DelayProxy(int(mock.base_url.rsplit(":", 1)[1]), delay).start() if delay else None
                        url = f"http://127.0.0.1:{proxy.port}" if proxy else mock.base_url
                        try:
                            run = run_suites(f"{name[:12]} {mode} r{round_no}", code, args, work, url, mock)
                        finally:
                            if proxy:
                                proxy.stop()
                    columns.setdefault(f"{name}, {mode}", []).append(run)
            load.append(os.getloadavg())
    names = list(columns)
    if len(names) >= 2:
        ratio = (names[0], names[1])
    text = "\n".join([
        f"# Suites throughput: `pytest suites -n {args.workers} --profile {args.profile}`",
        "",
        f"{args.rounds} round(s), sides alternating; load average (1 min) during the call: "
        + ", ".join(f"{x[0]:.1f}" for x in load) + f"; {os.cpu_count()} cores.",
        "",
        table(columns, ratio),
        "",
        "ratio: the first column's figure over the second's. "
        "CPU s: user + system time of pytest, its workers and their mocks (less sensitive to other load). "
        "A checked request is one the harness client recorded and the checks judged (the coverage parts' calls); "
        "wall time is the whole pytest process, start-up and collection included.",
    ])
    publish(text, args.report, note)
    if args.workdir is None and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
