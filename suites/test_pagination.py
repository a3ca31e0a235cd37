"""Pagination and filters of every list endpoint and of search (docs/conventions.md, "Lists" and "Search").

Each case creates its own objects and narrows the list to them (a fresh customer, a tag, an account), so other
tests' objects never interfere; where a list has no narrowing filter, the checks only speak about our objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from harness.checks import CONTRACT, INVARIANT, fail, finding, is_stripe_error, label_test, succeeds
from harness.client import ApiClient, PlannedRequest
from harness.findings import record
from harness.world import RecipeFailed, Unavailable, World
from suites.conftest import READ_PAGE, call, every

pytestmark = pytest.mark.pagination


@dataclass
class Listing:
    path_params: dict[str, str]
    params: dict  # the narrowing filter
    created: list[str]  # IDs of the objects this case created, oldest first
    exclusive: bool  # the filter matches exactly our objects
    order_key: str | None  # field that lists are sorted on (newest first); None: insertion order
    created_field: str = "created"  # the field a `created` filter applies to (invoice items call it `date`)


# Each case makes its objects side by side (`World.create_many`, `ApiClient.request_all`): lists are judged on
# their order key, and objects made in the same second may come in either order anyway.


def _invoices_of(world: World, customer: str, n: int, metadata: dict[str, str]) -> list[str]:
    """`n` draft invoices of `customer` (with or without a currency: targets differ on which they accept)."""
    made = world.create_many("CreateInvoice", n, {"customer": customer, "currency": "usd", "metadata": metadata},
                             {"customer": customer, "metadata": metadata}, what="a draft invoice of our customer")
    return [inv["id"] for inv in made]


def _post_all(world: World, paths: list[str]) -> list:
    """POST each path (no parameters) side by side; the answers in order."""
    return world.api.request_all([PlannedRequest("POST", path) for path in paths])


def _invoices(world: World, n: int) -> Listing:
    customer = world.fresh("customer")["id"]
    ids = _invoices_of(world, customer, n, {"of": customer})
    _post_all(world, [f"/v1/invoices/{invoice_id}/finalize" for invoice_id in ids[::3]])  # a mix of statuses
    return Listing({}, {"customer": customer}, ids, True, "created")


def _items(world: World, n: int) -> Listing:
    customer = world.fresh("customer")["id"]
    made = world.create_many("CreateInvoiceItem", n, {"customer": customer, "amount": 100, "currency": "usd"},
                             what="a pending invoice item of our customer")
    return Listing({}, {"customer": customer}, [item["id"] for item in made], True, "date", created_field="date")


def _lines(world: World, n: int) -> Listing:
    inv = world.fresh("invoice:draft")
    _made(world, "AddInvoiceLines", {"invoice": inv["id"]},
          {"lines": [{"amount": 10 + i, "description": f"l{i}"} for i in range(n)]}, what="lines on a draft")
    lines = every(world.api, world.contract["ListInvoiceLines"], {"invoice": inv["id"]})
    return Listing({"invoice": inv["id"]}, {}, [line["id"] for line in lines], True, None)


def _made(world: World, operation_id: str, path_params: dict, params: dict, *, what: str) -> dict:
    """`world.send`, skipping the test (naming the refusal, a 5xx recorded as its finding) when the target does
    not do what the setup needs."""
    try:
        return world.send(operation_id, path_params, params, what=what)
    except (RecipeFailed, Unavailable) as exc:
        pytest.skip(f"cannot make {what} on this target: {exc}")


def _payments(world: World, n: int) -> Listing:
    ids = [payment["id"] for payment in world.fresh_many("invoice_payment", n)]
    return Listing({}, {}, ids, False, "created")


def _templates(world: World, n: int) -> Listing:
    made = [*world.fresh_many("invoice_rendering_template:active", n - n // 2),
            *world.fresh_many("invoice_rendering_template:archived", n // 2)]
    return Listing({}, {}, [template["id"] for template in made], False, "created")


def _sessions_tagged(world: World, tag: str, n: int) -> list[str]:
    made = world.create_many("CreateIdentityVerificationSession", n, {"type": "document", "client_reference_id": tag},
                             what="a tagged verification session")
    return [session["id"] for session in made]


def _sessions(world: World, n: int) -> Listing:
    tag = world.tag() + "sess"
    ids = _sessions_tagged(world, tag, n)
    _post_all(world, [f"/v1/identity/verification_sessions/{session_id}/cancel" for session_id in ids[::3]])
    return Listing({}, {"client_reference_id": tag}, ids, True, "created")


def _reports(world: World, n: int) -> Listing:
    tag = world.tag() + "rep"
    ids = []
    sessions = _sessions_tagged(world, tag, n)
    for verified in _post_all(world, [f"/v1/test_helpers/identity/verification_sessions/{session_id}/verify"
                                      for session_id in sessions]):
        if verified.status == 404:
            pytest.skip("the target has no identity verification test helper to create reports")
        report = verified.json["last_verification_report"]
        ids.append(report["id"] if isinstance(report, dict) else report)
    return Listing({}, {"client_reference_id": tag}, ids, True, "created")


def _transactions(world: World, n: int) -> Listing:
    customer = world.shared("customer")["id"]
    resp = world.api.post("/v1/test_helpers/financial_connections/accounts", {"customer": customer, "transactions": n})
    if resp.status != 200:
        pytest.skip("the target has no test helper to create Financial Connections accounts with transactions "
                    f"(it answered {resp.status})")
    account = resp.json["id"]
    data = every(world.api, world.contract["ListFinancialConnectionsTransactions"], {}, {"account": account})
    return Listing({}, {"account": account}, [t["id"] for t in reversed(data)], True, "transacted_at")


def _forwarding(world: World, n: int) -> Listing:
    return Listing({}, {}, [req["id"] for req in world.fresh_many("forwarding.request", n)], False, "created")


def _authorizations(world: World, n: int) -> Listing:
    card = world.fresh("issuing.card")["id"]  # a card of its own: its authorizations are exactly these
    answers = world.api.request_all([
        PlannedRequest("POST", "/v1/test_helpers/issuing/authorizations",
                       {"amount": 500, "card": card, "status": "closed" if i % 3 == 0 else "pending"})
        for i in range(n)])
    if any(resp.status == 404 for resp in answers):
        pytest.skip("the target has no test helper to create Issuing authorizations")
    return Listing({}, {"card": card}, [resp.json["id"] for resp in answers], True, "created")


def _search(world: World, n: int) -> Listing:
    customer, tag = world.fresh("customer")["id"], world.tag()
    return Listing({}, {"query": f'metadata["run"]:"{tag}"'}, _invoices_of(world, customer, n, {"run": tag}), True,
                   "created")


CASES: dict[str, Callable[[World, int], Listing]] = {
    "ListInvoices": _invoices, "ListInvoiceItems": _items, "ListInvoiceLines": _lines,
    "ListInvoicePayments": _payments, "ListInvoiceRenderingTemplates": _templates,
    "ListIdentityVerificationSessions": _sessions, "ListIdentityVerificationReports": _reports,
    "ListFinancialConnectionsTransactions": _transactions, "ListForwardingRequests": _forwarding,
    "ListIssuingAuthorizations": _authorizations, "SearchInvoices": _search,
}


def walk_forward(api: ApiClient, op, listing: Listing, limit: int) -> list[dict]:
    """Every page from the first, following starting_after (or next_page for search)."""
    seen, params, pages = [], {**listing.params, "limit": limit}, 0
    while True:
        body = succeeds(op, call(api, op, listing.path_params, params), "a list page is served")
        _check_page(op, body, limit)
        seen += body["data"]
        pages += 1
        if not body["data"]:  # an empty page ends the walk, whatever has_more says
            return seen
        if pages > 500:
            fail(INVARIANT, op, "walking pages ends", "more than 500 pages: has_more never becomes false")
        if op.response_kind == "search_result":
            if not body["has_more"] or not body.get("next_page"):  # recorded by _check_page; nothing to follow
                return seen
            params = {**listing.params, "limit": limit, "page": body["next_page"]}
            continue
        last = body["data"][-1]["id"]
        params = {**listing.params, "limit": limit, "starting_after": last}
        if not body["has_more"] and (len(body["data"]) < limit or
                                     not _more_beyond(api, op, listing, limit, "starting_after", last, seen)):
            return seen


def _more_beyond(api: ApiClient, op, listing: Listing, limit: int, cursor: str, object_id: str,
                 seen: list[dict], existed: set[str] | None = None) -> bool:
    """Whether a full page that said ``has_more: false`` was in fact followed by objects the walk has not `seen`
    (`cursor` is ``starting_after`` or ``ending_before``): then the wrong has_more is recorded (the finding
    `test_has_more_is_true_exactly_when_more_remain` reports) and the walk goes on, so the property the walk checks
    is still judged. `existed`: only these IDs count (a list others share gains their new objects at its newest
    end, past the page that said has_more=false when it was served)."""
    body = succeeds(op, call(api, op, listing.path_params, {**listing.params, "limit": limit, cursor: object_id}),
                    "a list page is served")
    known = {obj["id"] for obj in seen}
    new = [obj["id"] for obj in body["data"] if obj["id"] not in known and (existed is None or obj["id"] in existed)]
    if new:
        record(finding(CONTRACT, op, "has_more is true exactly when more objects remain",
                       f"a full page of {limit} said has_more=false, but {cursor}={object_id} gives "
                       f"{len(new)} object(s) not seen yet"))
    return bool(new)


def _check_page(op, body: dict, limit: int) -> None:
    """Properties of one page, recorded so that the walk, and the property the test checks with it (a filter,
    the order), goes on: a page defect must not hide a deeper one."""
    if len(body["data"]) > limit:
        record(finding(CONTRACT, op, "limit is honoured", f"asked for {limit}, got {len(body['data'])}",
                       signature="more objects than limit", server_wide=True))
    if body["has_more"] and len(body["data"]) < limit:
        record(finding(CONTRACT, op, "has_more is true only when the page is full",
                       f"has_more=true but the page holds {len(body['data'])} < limit {limit}"))
    if op.response_kind == "search_result" and body["has_more"] and not body.get("next_page"):
        record(finding(CONTRACT, op, "search pages give next_page while has_more",
                       "has_more=true, next_page missing"))


ORDER = "lists are in the documented order (newest first; an invoice's lines as added)"


def _check_order(op, listing: Listing, seen: list[dict]) -> None:
    """The order of the objects a walk saw. Checked before completeness: cursors are positions in that order, so
    a wrong order is the defect a walk that then skips or repeats objects shows."""
    ids = [obj["id"] for obj in seen]
    if listing.order_key:
        keys = [obj.get(listing.order_key) for obj in seen]
        if any(a is not None and b is not None and a < b for a, b in itertools.pairwise(keys)):
            fail(INVARIANT, op, ORDER, f"not newest first by {listing.order_key}: {keys[:20]}")
        # (objects made in the same second may come in either order: only the keys are judged)
        return
    ours = [i for i in dict.fromkeys(ids) if i in set(listing.created)]
    if ours != [i for i in listing.created if i in ours]:
        fail(INVARIANT, op, ORDER, f"lines as added: {listing.created}, as listed: {ours}")


def _check_complete(op, listing: Listing, seen: list[dict], how: str) -> None:
    _check_order(op, listing, seen)
    ids = [obj["id"] for obj in seen]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        fail(INVARIANT, op, f"walking {how} visits every object exactly once", f"seen more than once: {dupes[:5]}")
    missing = [i for i in listing.created if i not in ids]
    if missing:
        fail(INVARIANT, op, f"walking {how} visits every object exactly once",
             f"{len(missing)} of our {len(listing.created)} objects never appeared: {missing[:5]}")
    if listing.exclusive and len(ids) != len(listing.created):
        fail(INVARIANT, op, "filters return exactly the matching objects",
             f"the filter {listing.params} should match our {len(listing.created)} objects, the walk saw {len(ids)}")


@pytest.fixture(params=sorted(CASES))
def case(request, contract, world, profile):
    op = contract[request.param]
    listing = CASES[request.param](world, profile.page_objects)
    return op, listing


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_walking_forward_visits_every_object_once_newest_first(case, limit, api):
    op, listing = case
    label_test(op, "pagination completeness", title=f"{op.label}: forward walk with limit={limit}")
    _check_complete(op, listing, walk_forward(api, op, listing, limit), "forward")


@pytest.mark.parametrize("limit", [1, 4])
def test_walking_backward_with_ending_before_visits_every_object_once(case, limit, api):
    op, listing = case
    if op.response_kind == "search_result":
        pytest.skip("search pages forward only (next_page); it has no ending_before")
    label_test(op, "pagination completeness", title=f"{op.label}: backward walk with ending_before, limit={limit}")
    full = walk_forward(api, op, listing, READ_PAGE)
    _check_order(op, listing, full)
    existed = None if listing.exclusive else {o["id"] for o in full}
    cursor, pages = full[-1], []
    while True:
        body = succeeds(op, call(api, op, listing.path_params, {**listing.params, "limit": limit,
                                                                 "ending_before": cursor["id"]}))
        _check_page(op, body, limit)
        pages.append(body["data"])
        if not body["data"]:
            break
        cursor = body["data"][0]
        if not body["has_more"] and (len(body["data"]) < limit or
                                     not _more_beyond(api, op, listing, limit, "ending_before", cursor["id"],
                                                      [obj for page in pages for obj in page], existed)):
            break
        if len(pages) > 500:
            fail(INVARIANT, op, "walking pages ends", "more than 500 pages backward")
    backward = [obj for page in reversed(pages) for obj in page]
    if existed is not None:  # a list others share gains their new objects (at its newest end) while we walk it
        backward = [o for o in backward if o["id"] in existed]
    if [o["id"] for o in backward] != [o["id"] for o in full[:-1]]:
        fail(INVARIANT, op, "ending_before pages, read in reverse, equal the forward walk (still newest first)",
             f"forward (without the last): {[o['id'] for o in full[:-1]][:12]}\n"
             f"backward: {[o['id'] for o in backward][:12]}")


def test_has_more_is_true_exactly_when_more_remain(case, api):
    op, listing = case
    label_test(op, "pagination has_more", title=f"{op.label}: has_more at every page size")
    for _ in range(3):
        total = len({obj["id"] for obj in walk_forward(api, op, listing, READ_PAGE)})
        limits = sorted(n for n in {1, max(total - 1, 1), total, total + 1} if n <= 100)
        pages = [(limit, succeeds(op, call(api, op, listing.path_params, {**listing.params, "limit": limit})))
                 for limit in limits]
        # A list others share may gain objects meanwhile: judge the pages only against a count that held.
        if listing.exclusive or len({o["id"] for o in walk_forward(api, op, listing, READ_PAGE)}) == total:
            break
    else:
        pytest.skip(f"{op.label}: the list kept growing while it was read (other clients of the same account: "
                    "this run's other workers, or other runs); has_more cannot be judged against a count that moves")
    for limit, body in pages:
        if len(body["data"]) != min(limit, total):
            fail(CONTRACT, op, "limit is honoured", f"limit={limit} with {total} objects gave {len(body['data'])}",
                 signature="more objects than limit" if len(body["data"]) > limit else "fewer objects than limit",
                 server_wide=True)
        if body["has_more"] != (total > limit):
            fail(CONTRACT, op, "has_more is true exactly when more objects remain",
                 f"limit={limit}, {total} objects, has_more={body['has_more']}")


def test_unknown_cursor_is_an_error_not_a_first_page(case, api):
    op, listing = case
    label_test(op, "pagination cursors", title=f"{op.label}: an unknown cursor is refused")
    cursor = "page" if op.response_kind == "search_result" else "starting_after"
    resp = call(api, op, listing.path_params, {**listing.params, cursor: "obj_harness_does_not_exist"})
    is_stripe_error(op, resp, status=(400, 404), what="a cursor naming no object is an error, not a first page")


def test_created_filters_return_exactly_the_matching_objects(case, api):
    op, listing = case
    if not any(p.name == "created" for p in op.query_params):
        pytest.skip(f"{op.label} has no created filter")
    label_test(op, "list filters", title=f"{op.label}: created[gte/lte/gt/lt] filters")
    full = walk_forward(api, op, listing, READ_PAGE)
    field = listing.created_field
    pivot = full[len(full) // 2][field]
    checks = {"gte": lambda c: c >= pivot, "lte": lambda c: c <= pivot, "gt": lambda c: c > pivot,
              "lt": lambda c: c < pivot}
    for bound, keep in checks.items():
        expected = [o["id"] for o in full if keep(o[field])]
        got = [o["id"] for o in walk_forward(api, op, Listing(listing.path_params,
                                                                {**listing.params, "created": {bound: pivot}},
                                                                [], False, None), READ_PAGE)]
        got_ours = [i for i in got if i in {o["id"] for o in full}] if not listing.exclusive else got
        if sorted(got_ours) != sorted(expected):  # which objects; their order is `_check_order`'s
            fail(INVARIANT, op, f"created[{bound}] returns exactly the matching objects",
                 f"created[{bound}]={pivot}: expected {expected[:8]} ({len(expected)}), got {got_ours[:8]} "
                 f"({len(got_ours)})")


# (list, filter parameter) -> (values to try, how to read the filtered field from an object). Every enum or boolean
# filter of every list is here; tests/test_tables_complete.py checks that against the contract.
VALUE_FILTERS: dict[tuple[str, str], tuple[list, Callable[[dict], object]]] = {
    ("ListInvoices", "status"): (["draft", "paid", "open"], lambda o: o["status"]),
    ("ListInvoices", "collection_method"): (["charge_automatically", "send_invoice"],
                                            lambda o: o["collection_method"]),
    ("ListInvoiceItems", "pending"): ([True, False], lambda o: o["invoice"] is None),
    ("ListInvoiceRenderingTemplates", "status"): (["active", "archived"], lambda o: o["status"]),
    ("ListIdentityVerificationSessions", "status"): (["requires_input", "canceled"], lambda o: o["status"]),
    ("ListIssuingAuthorizations", "status"): (["pending", "closed"], lambda o: o["status"]),
    ("ListInvoicePayments", "status"): (["paid", "open"], lambda o: o["status"]),
    ("ListIdentityVerificationReports", "type"): (["document", "id_number"], lambda o: o["type"]),
}


@pytest.mark.parametrize(("operation_id", "name"), sorted(VALUE_FILTERS))
def test_value_filters_return_exactly_the_matching_objects(operation_id, name, contract, api, world, profile):
    op = contract[operation_id]
    values, read = VALUE_FILTERS[(operation_id, name)]
    label_test(op, "list filters", title=f"{op.label}: {name} filter returns exactly the matching objects")
    listing = CASES[operation_id](world, profile.page_objects)
    full = walk_forward(api, op, listing, READ_PAGE)
    ours = {o["id"] for o in full} if listing.exclusive else set(listing.created)
    for value in values:
        filtered = Listing(listing.path_params, {**listing.params, name: value}, [], False, None)
        got = [o["id"] for o in walk_forward(api, op, filtered, READ_PAGE) if o["id"] in ours]
        expected = [o["id"] for o in full if o["id"] in ours and read(o) == value]
        if sorted(got) != sorted(expected):
            fail(INVARIANT, op, f"{name}={value!r} returns exactly the matching objects",
                 f"expected {len(expected)}: {expected[:6]}\ngot {len(got)}: {got[:6]}")
