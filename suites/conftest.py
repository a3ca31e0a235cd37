"""Fixtures shared by the suites: the world of objects on the target, and operation lookup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from contracts.loader import Operation, fill_path, load_contract
from contracts.rules import Decision, Rule, RuleBook, load_rules
from harness import staging
from harness.client import ApiClient, PlannedRequest, Response
from harness.findings import current_test
from harness.runinfo import TAG_KEY
from harness.target import Target
from harness.world import World
from strategies.schema import tag_metadata_with

SEED_OPERATIONS = sorted(load_contract().seed_operations, key=lambda op: op.operation_id)
OPERATION_IDS = [op.operation_id for op in SEED_OPERATIONS]


@dataclass(frozen=True)
class RuleGate:
    """The rules table, and which of its rows this run may assert.

    Against the embedded mock every row is asserted; against an external `--base-url` target a row without a
    Stripe source only with `--unsourced-rules` (HARNESS_UNSOURCED_RULES=1).
    """

    book: RuleBook
    external: bool = False
    unsourced: bool = False

    def allows(self, rules: Rule | tuple[Rule, ...] | list[Rule]) -> bool:
        return self.book.assertable(rules, external=self.external, unsourced=self.unsourced)

    def decide(self, obj: str, action: str, status: str, collection_method: str | None = None) -> Decision:
        return self.book.decide(obj, action, status, collection_method)

    def require(self, rules: Rule | tuple[Rule, ...] | list[Rule]) -> None:
        """Skip the test when these rows may not be asserted on this target (the reason names them)."""
        if not self.allows(rules):
            rows = (rules,) if isinstance(rules, Rule) else tuple(rules)
            names = ", ".join(r.id for r in rows if not r.sourced)
            pytest.skip(f"rule {names} has no Stripe source (contracts/rules.yaml); pass --unsourced-rules to "
                        "assert it against this target")


@pytest.fixture(scope="session")
def rules(request: pytest.FixtureRequest, target: Target) -> RuleGate:
    return RuleGate(load_rules(), external=not target.embedded,
                    unsourced=bool(request.config.getoption("--unsourced-rules")))


@pytest.fixture(scope="session")
def world(api: ApiClient, harness_config: dict, capabilities) -> World:
    run_id = staging.run_id()
    if run_id:  # full-size boundary metadata carries the tag, so an update leaves a tagged object at 50 keys
        tag_metadata_with(TAG_KEY, run_id)
    return World(api, harness_config, capabilities, run_id=run_id)


def call(client: ApiClient, op: Operation, path_params: dict[str, str], params: dict | None = None,
         **kwargs) -> Response:
    """Send one request for `op` (path template filled from path_params)."""
    return client.request(op.method, fill_path(op.path, path_params), params or None, operation=op.operation_id,
                          **kwargs)


READ_PAGE = 10
"""Page size of the suites' own reads (`every`): not a boundary any test probes (1 and 100 are), so a defect at a
boundary is the pagination tests' finding and does not stop the tests that only need to read a list."""


def every(client: ApiClient, op: Operation, path_params: dict[str, str], params: dict | None = None,
          what: str = "a list page is served") -> list[dict]:
    """Every object a list or search operation answers for `params`, oldest page first, read in pages of
    `READ_PAGE` (``starting_after``, or ``page`` = ``next_page`` for a search).

    :returns: the objects, as the pages gave them (at most 200 pages).
    :raises CheckFailed: a page is not a 2xx (``harness.checks.succeeds``: a 5xx is that operation's finding).
    """
    from harness.checks import succeeds

    objects: list[dict] = []
    cursor: dict = {}
    for _ in range(200):
        body = succeeds(op, call(client, op, path_params, {**(params or {}), "limit": READ_PAGE, **cursor}), what)
        objects += body["data"]
        if not body.get("has_more") or not body["data"]:
            break
        if op.response_kind == "search_result":
            if not body.get("next_page"):
                break
            cursor = {"page": body["next_page"]}
        else:
            cursor = {"starting_after": body["data"][-1]["id"]}
    return objects


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


_last_reads: dict[str, tuple[str | None, ApiClient, int, dict]] = {}
"""The last `snapshot` of each object path: (the test that read it, `harness.findings.current_test`; the client;
its `sent` count once answered; the view). Reused by the same test only: another test may have sent requests
outside the client (raw headers), which its `sent` count does not see."""


def sent_outside() -> None:
    """A request went out that no client counted (raw headers): no view read before it may be reused."""
    _last_reads.clear()


def snapshot(contract, client: ApiClient, op: Operation, path_params: dict[str, str], *,
             reuse: bool = False) -> dict | None:
    """The owner's view of the object `op` acts on, to prove a refused request changed nothing.

    `reuse=True` (for the view *before* a request under test) returns this test's last view of the object when the
    client has sent nothing at all since it was read: typically the view *after* the previous example's request,
    which saves a round trip per example. Never pass it for the view after a request. A test that sends outside
    the client (raw headers) calls `sent_outside` right after, since the client's count does not see it.
    """
    return snapshots(contract, client, op, [path_params], reuse=reuse)[0]


def snapshots(contract, client: ApiClient, op: Operation, path_params: Sequence[Mapping[str, str]], *,
              reuse: bool = False) -> list[dict | None]:
    """`snapshot` of each object the requests with these `path_params` act on, in their order: the reads it does
    not reuse go out as one batch (`ApiClient.request_all`), each object read once."""
    retrieve = retrieve_operation_for(contract, op)
    if retrieve is None:
        return [None] * len(path_params)
    paths = [fill_path(retrieve.path, {k: v for k, v in ids.items() if k in retrieve.path_params})
             for ids in path_params]
    test = current_test()
    views: dict[str, dict] = {}
    for path in paths:
        last = _last_reads.get(path)
        if reuse and last is not None and last[0] == test and last[1] is client and last[2] == client.sent:
            views[path] = last[3]
    missing = [path for path in dict.fromkeys(paths) if path not in views]
    answers = client.request_all([PlannedRequest("GET", path, None, retrieve.operation_id) for path in missing])
    for path, resp in zip(missing, answers, strict=True):
        views[path] = resp.body if resp.status == 200 else {"status": resp.status}
        _last_reads[path] = (test, client, client.sent, views[path])
    return [views[path] for path in paths]
