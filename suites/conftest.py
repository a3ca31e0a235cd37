"""Fixtures shared by the suites: the world of objects on the target, and operation lookup."""

from __future__ import annotations

import pytest

from contracts.loader import Operation, fill_path, load_contract
from harness.client import ApiClient, Response
from harness.world import World

SEED_OPERATIONS = sorted(load_contract().seed_operations, key=lambda op: op.operation_id)
OPERATION_IDS = [op.operation_id for op in SEED_OPERATIONS]


@pytest.fixture(scope="session")
def world(api: ApiClient, harness_config: dict, capabilities) -> World:
    return World(api, harness_config, capabilities)


def call(client: ApiClient, op: Operation, path_params: dict[str, str], params: dict | None = None,
         **kwargs) -> Response:
    """Send one request for `op` (path template filled from path_params)."""
    return client.request(op.method, fill_path(op.path, path_params), params or None, **kwargs)


def retrieve_operation_for(contract, op: Operation) -> Operation | None:
    """The GET that reads the object `op` acts on (same path up to its first parameter), if there is one."""
    if not op.path_params:
        return None
    first = op.path_params[0]
    prefix = op.path.split("/{")[0]
    for candidate in contract.seed_operations:
        if candidate.method == "GET" and not candidate.is_list and candidate.path == f"{prefix}/{{{first}}}":
            return candidate
    return None


def snapshot(contract, client: ApiClient, op: Operation, path_params: dict[str, str]) -> dict | None:
    """The owner's view of the object `op` acts on, to prove a refused request changed nothing."""
    retrieve = retrieve_operation_for(contract, op)
    if retrieve is None:
        return None
    resp = call(client, retrieve, {k: v for k, v in path_params.items() if k in retrieve.path_params})
    return resp.body if resp.status == 200 else {"status": resp.status}
