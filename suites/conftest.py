"""Fixtures shared by the suites: the world of objects on the target, and operation lookup."""

from __future__ import annotations

import pytest

from contracts.loader import Operation, fill_path, load_contract
from harness.client import ApiClient, Response
from harness.world import World

SEED_OPERATIONS = sorted(load_contract().seed_operations, key=lambda op: op.operation_id)
OPERATION_IDS = [op.operation_id for op in SEED_OPERATIONS]


@pytest.fixture(scope="session")
def world(api: ApiClient, harness_config: dict) -> World:
    return World(api, harness_config)


def call(client: ApiClient, op: Operation, path_params: dict[str, str], params: dict | None = None,
         **kwargs) -> Response:
    """Send one request for `op` (path template filled from path_params)."""
    return client.request(op.method, fill_path(op.path, path_params), params or None, **kwargs)
