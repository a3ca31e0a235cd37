"""Driven by tests/test_staging.py, never collected on its own: one worker of a paced, budgeted run.

Sends requests in a loop for PROBE_SECONDS (GETs, or customers created when PROBE_MODE=create) and writes the
time of each answer to PROBE_OUT/<worker>.json, also when the budget ends the test as a skip.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def test_send_requests_for_a_while(api, worker_id):
    stamps: list[float] = []
    deadline = time.monotonic() + float(os.environ.get("PROBE_SECONDS", "10"))
    try:
        while time.monotonic() < deadline:
            if os.environ.get("PROBE_MODE") == "create":
                api.post("/v1/customers", {"name": "probe"})
            else:
                api.get("/v1/invoices", {"limit": 1})
            stamps.append(time.time())
    finally:
        Path(os.environ["PROBE_OUT"], f"{worker_id}.json").write_text(json.dumps(stamps))
