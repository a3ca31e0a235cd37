"""Cross-request properties: read-after-write, deletion, idempotency, expansion and search (docs/conventions.md)."""

from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contracts.loader import load_contract
from harness.checks import CONTRACT, INVARIANT, fail, is_stripe_error, label_test, succeeds
from strategies.search import malformed_queries
from suites.conftest import SEED_OPERATIONS, call, every
from suites.preconditions import PRECONDITIONS
from suites.search_model import Clause, SearchQuery, search_queries

pytestmark = pytest.mark.properties

# Keys made only of digits read as array indices in the bracket encoding (metadata[5]=x); see README, Limits.
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=40).filter(
    lambda k: not k.isdigit())
values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60)
metadata_updates = st.dictionaries(keys, st.one_of(values, st.just("")), min_size=1, max_size=5)


def merged(current: dict, update: dict) -> dict:
    out = dict(current)
    for k, v in update.items():
        if v == "":
            out.pop(k, None)
        else:
            out[k] = v
    return out


# -- read-after-write -----------------------------------------------------------------------------------------

# update operation -> (retrieve operation, the path parameter both use, world kind)
UPDATES = {
    "UpdateInvoice": ("RetrieveInvoice", "invoice", "invoice:draft"),
    "UpdateInvoiceItem": ("RetrieveInvoiceItem", "invoiceitem", "invoiceitem:pending"),
    "UpdateIdentityVerificationSession": ("RetrieveIdentityVerificationSession", "session",
                                          "identity.verification_session:requires_input"),
    "UpdateIssuingAuthorization": ("RetrieveIssuingAuthorization", "authorization", "issuing.authorization"),
}


@pytest.mark.parametrize("operation_id", sorted(UPDATES))
def test_metadata_updates_are_read_back(operation_id, contract, api, world, profile):
    """Update then retrieve: the object shows exactly the merged metadata (`k=""` removes k)."""
    op = contract[operation_id]
    retrieve_id, param, kind = UPDATES[operation_id]
    label_test(op, "read-after-write", title=f"{op.label}: metadata updates are read back")
    obj = world.fresh(kind)

    @given(update=metadata_updates)
    def check(update: dict) -> None:
        before = succeeds(contract[retrieve_id], call(api, contract[retrieve_id], {param: obj["id"]}))
        expected = merged(before["metadata"] or {}, update)
        answer = succeeds(op, call(api, op, {param: obj["id"]}, {"metadata": update}))
        if answer["metadata"] != expected:
            fail(INVARIANT, op, "the update's answer shows the merged metadata",
                 f"sent {update}\nexpected {expected}\ngot {answer['metadata']}")
        after = succeeds(contract[retrieve_id], call(api, contract[retrieve_id], {param: obj["id"]}))
        if after["metadata"] != expected:
            fail(INVARIANT, op, "a retrieve after the update shows it (read-after-write)",
                 f"sent {update}\nexpected {expected}\nread back {after['metadata']}")

    check()


def test_clearing_all_metadata_with_an_empty_value(contract, api, world):
    op = contract["UpdateInvoice"]
    label_test(op, "read-after-write", title="metadata= (empty) removes every key")
    inv = world.fresh("invoice:draft")
    retrieve = contract["RetrieveInvoice"]
    succeeds(op, call(api, op, {"invoice": inv["id"]}, {"metadata": {"a": "1", "b": "2"}}))
    stored = succeeds(retrieve, call(api, retrieve, {"invoice": inv["id"]}))["metadata"]
    if stored.get("a") != "1" or stored.get("b") != "2":  # an update not kept at all is that defect, not this one
        fail(INVARIANT, op, "a retrieve after the update shows it (read-after-write)",
             f"metadata after setting a=1, b=2: {stored}")
    succeeds(op, call(api, op, {"invoice": inv["id"]}, {"metadata": ""}))
    after = succeeds(retrieve, call(api, retrieve, {"invoice": inv["id"]}))
    if after["metadata"]:
        fail(INVARIANT, op, "metadata= removes every key", f"metadata after clearing: {after['metadata']}")


def test_line_updates_are_read_back(contract, api, world):
    op = contract["UpdateInvoiceLine"]
    label_test(op, "read-after-write", title=f"{op.label}: an updated line is read back, and the invoice follows")
    path_params, _ = PRECONDITIONS["UpdateInvoiceLine"].setup(world)
    line = succeeds(op, call(api, op, path_params, {"amount": 4321, "description": "read back"}))
    lines = every(api, contract["ListInvoiceLines"], {"invoice": path_params["invoice"]})
    stored = next((x for x in lines if x["id"] == line["id"]), None)
    if stored is None or stored["amount"] != 4321 or stored["description"] != "read back":
        fail(INVARIANT, op, "the line list shows the update", f"line as listed: {stored}")
    inv = succeeds(contract["RetrieveInvoice"], call(api, contract["RetrieveInvoice"],
                                                     {"invoice": path_params["invoice"]}))
    if inv["subtotal"] != sum(x["amount"] for x in lines):
        fail(INVARIANT, op, "the invoice subtotal follows its lines", f"subtotal {inv['subtotal']}")


# -- deletion -----------------------------------------------------------------------------------------------

DELETES = {
    "DeleteInvoice": ("RetrieveInvoice", "ListInvoices", "invoice", "invoice:draft"),
    "DeleteInvoiceItem": ("RetrieveInvoiceItem", "ListInvoiceItems", "invoiceitem", "invoiceitem:pending"),
}


@pytest.mark.parametrize("operation_id", sorted(DELETES))
def test_deleted_objects_are_gone_everywhere(operation_id, contract, api, world):
    op = contract[operation_id]
    retrieve_id, list_id, param, kind = DELETES[operation_id]
    label_test(op, "deletion", title=f"{op.label}: afterwards 404 and absent from lists")
    obj = world.fresh(kind)
    body = succeeds(op, call(api, op, {param: obj["id"]}))
    if body.get("deleted") is not True or body.get("id") != obj["id"]:
        fail(CONTRACT, op, "deletion answers {id, object, deleted: true}", str(body))
    retrieve = contract[retrieve_id]
    is_stripe_error(retrieve, call(api, retrieve, {param: obj["id"]}), status=404,
                    what="a deleted object is gone (404)")
    listing = every(api, contract[list_id], {}, {"customer": obj["customer"]})
    if obj["id"] in {o["id"] for o in listing}:
        fail(INVARIANT, op, "a deleted object is no longer listed", f"{obj['id']} still in {list_id}")
    is_stripe_error(op, call(api, op, {param: obj["id"]}), status=404, what="deleting twice is a 404")


# -- idempotency ---------------------------------------------------------------------------------------------

CREATES = ["CreateInvoice", "CreateInvoiceItem", "CreateIdentityVerificationSession",
           "CreateFinancialConnectionsSession", "CreateForwardingRequest", "FinalizeInvoice", "PayInvoice"]


@pytest.mark.parametrize("operation_id", CREATES)
def test_same_idempotency_key_and_params_replays_the_first_answer(operation_id, contract, api, world):
    op = contract[operation_id]
    label_test(op, "idempotency", title=f"{op.label}: same key and params replay the first answer")
    path_params, params = PRECONDITIONS[operation_id].setup(world)
    key = f"harness-{uuid.uuid4()}"
    first = succeeds(op, call(api, op, path_params, params, idempotency_key=key))
    again = call(api, op, path_params, params, idempotency_key=key)
    second = succeeds(op, again, "a replayed request succeeds")
    if again.headers.get("idempotent-replayed", "").lower() != "true":
        fail(CONTRACT, op, "a replay says so with Idempotent-Replayed: true",
             f"headers: {dict(again.headers)}", again)
    if first.get("id") != second.get("id"):
        fail(INVARIANT, op, "a replay returns the first answer (no second object)",
             f"first id {first.get('id')}, replay id {second.get('id')}", again)


@pytest.mark.parametrize("operation_id", ["CreateInvoice", "CreateInvoiceItem", "CreateIdentityVerificationSession"])
def test_same_idempotency_key_with_other_params_is_an_idempotency_error(operation_id, contract, api, world):
    op = contract[operation_id]
    label_test(op, "idempotency", title=f"{op.label}: same key, other params → idempotency_error")
    path_params, params = PRECONDITIONS[operation_id].setup(world)
    key = f"harness-{uuid.uuid4()}"
    succeeds(op, call(api, op, path_params, params, idempotency_key=key))
    other = {**params, "metadata": {"different": "yes"}}
    is_stripe_error(op, call(api, op, path_params, other, idempotency_key=key), status=400,
                    error_type="idempotency_error", what="reusing a key with other parameters is refused")


def test_idempotency_keys_are_scoped_per_account(contract, api, other_api, world):
    op = contract["CreateIdentityVerificationSession"]
    label_test(op, "idempotency", severity="critical", title="the same key in two accounts makes two objects")
    key = f"harness-{uuid.uuid4()}"
    mine = succeeds(op, call(api, op, {}, {"type": "document"}, idempotency_key=key))
    theirs = call(other_api, op, {}, {"type": "document"}, idempotency_key=key)
    body = succeeds(op, theirs)
    if body["id"] == mine["id"] or theirs.headers.get("idempotent-replayed"):
        fail(CONTRACT, op, "idempotency keys are scoped per account",
             "the second account got the first account's replay", theirs)


# -- expand ----------------------------------------------------------------------------------------------------


# Expandable fields that the world's objects actually fill with IDs the target serves; the contract marks more
# fields expandable (test_clock, application, ...) but they hold objects outside this API slice.
EXPANDED_IN_PRACTICE = {"customer", "invoice", "last_verification_report"}


def _expandable_cases(contract):
    cases = []
    for op in SEED_OPERATIONS:
        if op.method != "GET" or op.resource is None or "expand" not in {p.name for p in op.query_params}:
            continue
        for field_name, target in contract.expandable_fields(op.resource).items():
            if field_name not in EXPANDED_IN_PRACTICE:
                continue
            cases.append(pytest.param(op.operation_id, field_name, target, id=f"{op.operation_id}-{field_name}"))
    return cases


def _verified_first(world) -> tuple[dict, dict]:
    world.fresh("identity.verification_session:verified")  # newest first: it leads the list
    return {}, {}


# Where the preconditions' objects leave the expandable field empty, start from objects that fill it.
EXPAND_SETUPS = {
    "RetrieveIdentityVerificationSession": lambda w: (
        {"session": w.fresh("identity.verification_session:verified")["id"]}, {}),
    "ListIdentityVerificationSessions": _verified_first,
    "ListInvoiceItems": lambda w: ({}, {"invoice": w.fresh("invoice:draft_with_lines")["id"]}),
    "RetrieveInvoiceItem": lambda w: ({"invoiceitem": w.create("CreateInvoiceItem", {
        "invoice": w.fresh("invoice:draft")["id"], "amount": 300}, what="an invoice item on a draft")["id"]}, {}),
}


def _object_name(contract, target: str | None) -> str | None:
    if target is None:
        return None
    enum = contract.components[target].get("properties", {}).get("object", {}).get("enum")
    return enum[0] if enum else None


@pytest.mark.parametrize(("operation_id", "field_name", "expanded_schema"), _expandable_cases(load_contract()))
def test_expanding_a_field_replaces_the_id_with_the_object(operation_id, field_name, expanded_schema, contract, api,
                                                           world):
    op = contract[operation_id]
    label_test(op, "expand", title=f"{op.label}: expand[]={'data.' if op.is_list else ''}{field_name}")
    setup = EXPAND_SETUPS.get(operation_id, PRECONDITIONS[operation_id].setup)
    path_params, params = setup(world)
    plain = succeeds(op, call(api, op, path_params, params))
    prefix = "data." if op.is_list else ""
    expanded = succeeds(op, call(api, op, path_params, {**params, "expand": [f"{prefix}{field_name}"]}))
    before = plain["data"] if op.is_list else [plain]
    after = {o["id"]: o for o in (expanded["data"] if op.is_list else [expanded])}
    checked = 0
    for obj in before:
        value = obj.get(field_name)
        if not isinstance(value, str) or obj["id"] not in after:
            continue
        got = after[obj["id"]].get(field_name)
        if not isinstance(got, dict) or got.get("id") != value:
            if value.startswith(("cus_", "in_", "vr_", "pm_", "pi_")):  # objects the target holds
                fail(CONTRACT, op, "expand[] expands the field",
                     f"expand[]={prefix}{field_name}: before: {value!r}; after: {str(got)[:200]}")
            continue
        expected_name = _object_name(contract, expanded_schema)
        if expected_name and got.get("object") != expected_name:
            fail(CONTRACT, op, "an expanded object has the right type",
                 f"{field_name}.object is {got.get('object')!r}, expected {expected_name!r}")
        checked += 1
    if checked == 0:
        pytest.skip(f"no {field_name} holding an ID of an object this target serves in the sample")


NON_EXPANDABLE = ["RetrieveInvoice", "ListInvoices", "RetrieveIdentityVerificationSession", "RetrieveInvoiceItem"]


@pytest.mark.parametrize("operation_id", NON_EXPANDABLE)
def test_expanding_a_plain_field_is_refused(operation_id, contract, api, world):
    op = contract[operation_id]
    label_test(op, "expand", title=f"{op.label}: expanding a non-expandable field is a 400")
    path_params, params = PRECONDITIONS[operation_id].setup(world)
    field_name = "data.livemode" if op.is_list else "livemode"
    # the negative suite's property for its "expand" kind of invalid request: one finding when both see it
    is_stripe_error(op, call(api, op, path_params, {**params, "expand": [field_name]}), status=400,
                    what="an invalid request is rejected", defect="expand",
                    context=f"expand[]={field_name}: not an expandable field")


# -- includable fields -------------------------------------------------------------------------------------------

# Objects whose includable fields hold something, per resource: path parameters and list filters that reach them.
def _paid_invoice(world) -> tuple[dict, dict]:
    inv = world.fresh("invoice:paid")
    return {"invoice": inv["id"]}, {"customer": inv["customer"]} if inv.get("customer") else {}


def _verified_session(world) -> tuple[dict, dict]:
    session = world.fresh("identity.verification_session:verified")
    return {"session": session["id"]}, {}


def _verified_report(world) -> tuple[dict, dict]:
    session = world.fresh("identity.verification_session:verified")
    return {"report": session["last_verification_report"]}, {"verification_session": session["id"]}


INCLUDABLE_SETUPS = {"invoice": _paid_invoice, "identity.verification_session": _verified_session,
                     "identity.verification_report": _verified_report}


def _includable_cases(contract):
    cases = []
    for op in SEED_OPERATIONS:
        if op.method != "GET" or op.resource not in INCLUDABLE_SETUPS or op.response_kind == "search_result":
            continue
        for path in contract.includable_fields(op.resource):
            cases.append(pytest.param(op.operation_id, path, id=f"{op.operation_id}-{path}"))
    return cases


def _lookup(obj: dict, path: list[str]) -> tuple[bool, object]:
    """(whether every field on the path is present, the value at its end); a null parent counts as present."""
    value: object = obj
    for name in path:
        if value is None:
            return True, None
        if not isinstance(value, dict) or name not in value:
            return False, None
        value = value[name]
    return True, value


@pytest.mark.parametrize(("operation_id", "path"), _includable_cases(load_contract()))
def test_includable_fields_appear_only_when_expanded(operation_id, path, contract, api, world):
    """Stripe leaves includable fields (invoice `payments`, Identity `verified_outputs`, ...) out of an object
    unless `expand[]` names them, and then sends them (null when empty). Source: each field's row in the contract
    generator's INCLUDABLE table (Stripe's API reference and guides)."""
    op = contract[operation_id]
    prefix = "data." if op.is_list else ""
    label_test(op, "expand", title=f"{op.label}: {path} is sent only with expand[]={prefix}{path}")
    path_params, params = INCLUDABLE_SETUPS[op.resource](world)
    if not op.is_list:
        params = {}
    parts = path.split(".")
    plain = succeeds(op, call(api, op, path_params, params))
    expanded = succeeds(op, call(api, op, path_params, {**params, "expand": [prefix + path]}))
    enclosing = [p for p in contract.includable_fields(op.resource) if path.startswith(p + ".")]
    for obj in plain["data"] if op.is_list else [plain]:
        if any(_lookup(obj, p.split("."))[0] for p in enclosing):
            continue  # an enclosing includable field is sent unasked: its own case reports that one defect
        parent_present, parent = _lookup(obj, parts[:-1])
        if parent_present and isinstance(parent, dict) and parts[-1] in parent:
            fail(CONTRACT, op, "an includable field is left out unless expanded",
                 f"{obj.get('id')}: {path} sent without expand[]={prefix}{path}")
    objects = expanded["data"] if op.is_list else [expanded]
    if not objects:
        pytest.skip(f"the list answered no object to expand {path} on")
    for obj in objects:
        present, _ = _lookup(obj, parts)
        if not present:
            fail(CONTRACT, op, "expand[] expands the field",
                 f"{obj.get('id')}: {path} missing although expand[]={prefix}{path} was sent")


def test_search_total_count_appears_only_when_expanded(contract, api, world):
    """`total_count` of a search result is sent only with expand[]=total_count (Stripe's API reference, search),
    and then counts the matching objects."""
    op = contract["SearchInvoices"]
    label_test(op, "expand", title=f"{op.label}: total_count is sent only with expand[]=total_count")
    params = {"query": 'status:"draft"', "limit": 1}
    plain = succeeds(op, call(api, op, {}, params))
    if "total_count" in plain:
        fail(CONTRACT, op, "an includable field is left out unless expanded", "total_count sent without expand")
    counted = succeeds(op, call(api, op, {}, {**params, "expand": ["total_count"]}))
    if not isinstance(counted.get("total_count"), int):
        fail(CONTRACT, op, "expand[] expands the field",
             f"total_count: {counted.get('total_count')!r} although expand[]=total_count was sent")
    if counted["total_count"] < len(counted["data"]) or (counted["has_more"] and counted["total_count"] < 2):
        fail(CONTRACT, op, "total_count counts the matching objects",
             f"total_count {counted['total_count']} with {len(counted['data'])} on this page, "
             f"has_more {counted['has_more']}")


# -- search ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def search_corpus(api, world):
    """Invoices with varied status, amount and metadata, for one customer of our own."""
    customer = world.fresh("customer")["id"]
    ids = []
    for n in range(8):
        metadata = {"order_id": f"o{n % 3}", "n": str(n)}
        inv_id = world.create("CreateInvoice", {"customer": customer, "currency": "usd", "metadata": metadata},
                              {"customer": customer, "metadata": metadata}, what="a draft invoice")["id"]
        if n % 2:
            api.post(f"/v1/invoices/{inv_id}/add_lines", {"lines": [{"amount": 100 * n}]})
        if n % 3 == 1:
            api.post(f"/v1/invoices/{inv_id}/finalize")
        ids.append(inv_id)
    _wait_until_searchable(api, customer, set(ids))
    return [api.get(f"/v1/invoices/{i}").json for i in ids]


SEARCH_FRESHNESS_SECONDS = 90  # "data is searchable in under 1 minute" (docs.stripe.com/search, Data freshness)


def _wait_until_searchable(api, customer: str, ids: set[str]) -> None:
    """Stripe's search is not read-after-write: wait until the corpus is visible, or skip saying so."""
    op = load_contract()["SearchInvoices"]
    deadline = time.monotonic() + SEARCH_FRESHNESS_SECONDS
    while True:
        found = {inv["id"] for inv in _search_all(api, op, f'customer:"{customer}"')}
        if ids <= found:
            return
        if time.monotonic() > deadline:
            pytest.skip(f"search did not show {len(ids - found)} of {len(ids)} new invoices within "
                        f"{SEARCH_FRESHNESS_SECONDS} s (Stripe documents under a minute); not judging search")
        time.sleep(2)


def _search_all(api, op, query: str) -> list[dict]:
    return every(api, op, {}, {"query": query}, "a valid query is answered")


def test_search_results_equal_the_models_filter(contract, api, search_corpus, profile):
    op = contract["SearchInvoices"]
    label_test(op, "search", title="queries generated from the grammar return what the model predicts")
    corpus = {inv["id"]: inv for inv in search_corpus}
    values = {
        "status": sorted({i["status"] for i in search_corpus}), "customer": [search_corpus[0]["customer"]],
        "currency": ["usd"], "total": sorted({i["total"] for i in search_corpus}),
        "created": sorted({i["created"] for i in search_corpus}),
        "number": [i["number"] for i in search_corpus if i["number"]],
        "metadata": sorted({(k, v) for i in search_corpus for k, v in i["metadata"].items()}),
    }

    # One query whose second clause always matters, whatever the draw: every corpus invoice has this customer,
    # three of the eight have order_id o1. A server that drops all but the first clause returns all eight.
    narrowing = SearchQuery((Clause("customer", ":", search_corpus[0]["customer"]),
                             Clause("metadata", ":", "o1", key="order_id")))

    @given(query=search_queries(values))
    @example(query=narrowing)
    def check(query: SearchQuery) -> None:
        verdicts = {i: query.verdict(inv) for i, inv in corpus.items()}
        got = {inv["id"] for inv in _search_all(api, op, query.text)} & set(corpus)
        missing = sorted(i for i, v in verdicts.items() if v is True and i not in got)
        unexpected = sorted(i for i, v in verdicts.items() if v is False and i in got)
        if missing or unexpected:
            fail(INVARIANT, op, "search returns exactly the objects the query matches",
                 f"query: {query.text}\nmissing: {missing}\nunexpected: {unexpected}")

    check()


@given(query=malformed_queries())
def test_malformed_queries_are_refused(query, contract, api):
    op = contract["SearchInvoices"]
    label_test(op, "search", title="a malformed query is a 400")
    is_stripe_error(op, call(api, op, {}, {"query": query}), status=400, param="query",
                    what=f"a malformed query is refused: {query!r}")
