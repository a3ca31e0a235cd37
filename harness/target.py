"""The system under test: a base URL and keys, or the embedded mock started for this process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LIVE_PREFIXES = ("sk_live_", "rk_live_")


class TargetError(RuntimeError):
    """The target could not be reached or started; the message says what to do."""


def looks_live(key: str | None) -> bool:
    """Whether `key` is a live-mode key (``sk_live_``, ``rk_live_``), which the harness refuses without
    --allow-live."""
    return bool(key) and key.startswith(LIVE_PREFIXES)


def fresh_test_key(label: str = "") -> str:
    """A new test-mode key: with the embedded mock each key is a separate, empty account."""
    tag = "".join(ch for ch in label if ch.isalnum())[:12]
    return f"sk_test_{tag}{secrets.token_hex(12)}"


@dataclass
class Target:
    """Where the requests go: `base_url` (no trailing ``/``), the two accounts' keys, and for the embedded mock its
    process, faults and chaos settings. Use it as a context manager (or call `stop`) to stop an embedded mock."""

    base_url: str
    api_key: str = field(repr=False)  # never in a traceback, a report or a log
    second_api_key: str = field(repr=False)
    embedded: bool = False
    faults: tuple[str, ...] = ()
    chaos: tuple[str, ...] = ()
    process: subprocess.Popen | None = field(default=None, repr=False)

    def describe(self) -> str:
        """One line for people: the URL, embedded or external, and any faults or chaos (never the keys)."""
        kind = "embedded mock" if self.embedded else "external target"
        extra = f", faults={','.join(self.faults)}" if self.faults else ""
        extra += f", chaos={','.join(self.chaos)}" if self.chaos else ""
        return f"{self.base_url} ({kind}{extra})"

    def stop(self) -> None:
        """Stop the embedded mock's process, if this target has one (`stop_process`); an external target: nothing."""
        if self.process is not None:
            stop_process(self.process)

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def stop_process(process: subprocess.Popen) -> None:
    """Terminate `process` if it still runs: SIGTERM, up to 10 s to exit, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def start_embedded_mock(faults: tuple[str, ...] = (), chaos: tuple[str, ...] = (), label: str = "",
                        timeout: float = 30.0, server_args: tuple[str, ...] = (),
                        disabled: tuple[str, ...] = ()) -> Target:
    """Start `python -m mockserver` on a free loopback port and wait until it answers.

    :param faults: names from the mock's fault catalogue to plant (``python -m mockserver --fault list``).
    :param chaos: chaos settings, ``NAME`` or ``NAME=VALUE`` (``"rate_limit=0.1"``).
    :param label: a few characters put into the generated test keys, to tell workers' accounts apart.
    :param timeout: seconds to wait for the mock to answer ``GET /v1/__health__``.
    :param server_args: more command-line options for the mock, e.g. ``("--request-timeout", "1")``.
    :param disabled: operationIds the mock answers with 404 ``Unrecognized request URL``.
    :returns: an embedded `Target` with its process and two fresh test keys (two separate, empty accounts);
        call ``Target.stop()`` when done. The mock's output goes to ``mock.log`` in a new temporary directory.
    :raises TargetError: the process exited (the message carries the end of its log) or did not answer within
        `timeout` seconds (it is killed; the message names the log).
    """
    workdir = Path(tempfile.mkdtemp(prefix="harness-mock-"))
    port_file = workdir / "port"
    log_path = workdir / "mock.log"
    cmd = [sys.executable, "-m", "mockserver", "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file)]
    for name in faults:
        cmd += ["--fault", name]
    for setting in chaos:
        cmd += ["--chaos", setting]
    cmd += list(server_args)
    for operation_id in disabled:
        cmd += ["--disable", operation_id]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TargetError(f"the embedded mock exited with code {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        if port_file.exists():
            base_url = f"http://127.0.0.1:{port_file.read_text().strip()}"
            try:
                requests.get(base_url + "/v1/__health__", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.05)
                continue
            return Target(base_url, fresh_test_key(label), fresh_test_key(label + "other"), True,
                          tuple(faults), tuple(chaos), proc)
        time.sleep(0.05)
    proc.kill()
    raise TargetError(f"the embedded mock did not start within {timeout:.0f} s; log: {log_path}")
