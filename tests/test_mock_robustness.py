""""Never a 5xx for a client's mistake" (docs/conventions.md, "Errors"): whatever bytes, paths, headers and methods
a fuzzer throws at the mock, the answer is a Stripe-shaped JSON 4xx (or a 2xx when the request happens to be
valid), never a 500.

Runs in-process through `call_raw`, so hundreds of examples take a second or two. One app is shared by all the
examples and seeded with real objects, so fuzzed paths and references sometimes name things that exist and the
requests reach the handlers, not only the router and the decoder.
"""

from __future__ import annotations

import base64
import string
from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.loader import fill_path, load_contract
from mockserver.app import MAX_BODY, MockApp
from mockserver.testing import Answer, call_raw, seed_objects

KEY = "sk_test_robustness000000001"
FORM = "application/x-www-form-urlencoded"
METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH")
CONTRACT = load_contract()
OPERATIONS = list(CONTRACT.operations.values())


APP = MockApp()
IDS = seed_objects(APP, KEY)

# -- strategies -------------------------------------------------------------------------------------------------

junk_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
latin1_header = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60)
percent_junk = st.lists(st.sampled_from(["%00", "%2F", "%25", "%ff", "%C3%28", "%", "%zz", "..", "/", "\x00",
                                         "%E2%82%AC", "+", " ", "?", "#", ";", "[", "]"]), max_size=6).map("".join)
segment = st.one_of(st.sampled_from([*IDS.values(), "in_missing", "", "search", "create_preview", "lines",
                                     "x" * 300]), junk_text, percent_junk)


PATH_NAMES = ("invoice", "invoiceitem", "line_item_id", "session", "template", "account", "authorization", "customer",
              "id", "transaction", "report", "invoice_payment", "card", "cardholder")


@st.composite
def targets(draw: st.DrawFn) -> tuple[str, str]:
    """(method, path): mostly a contract operation with real IDs or junk in its path parameters, sometimes a known
    prefix plus junk or random segments, with the operation's own method or any other."""
    kind = draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
    method = draw(st.sampled_from(METHODS))
    if kind == 0:
        op = draw(st.sampled_from(OPERATIONS))
        if draw(st.integers(0, 3)):
            method = op.method
        fill = {name: draw(st.one_of(st.just(IDS.get(name, "x")), st.just(IDS.get(name, "x")), segment))
                for name in PATH_NAMES}
        return method, fill_path(op.path, fill)
    if kind == 1:
        prefix = draw(st.sampled_from(["/v1/invoices/", "/v1/invoiceitems/", "/v1/identity/", "/v1/",
                                       "/v1/financial_connections/accounts/", "/v1/test_helpers/", "/"]))
        return method, prefix + "/".join(draw(st.lists(segment, max_size=4)))
    if kind == 2:
        return method, "/" + "/".join(draw(st.lists(segment, max_size=6)))
    return method, draw(junk_text)


scalar = st.one_of(
    st.sampled_from(["", "0", "-1", "1", "true", "false", "null", "None", "NaN", "1e400", "99999999999999999999999",
                     "-9223372036854775809", "0x10", " 1", "1.5", "usd", "USD", "draft", "open", "customer",
                     "lines.data.discounts", "status:\"open\"", "pm_card_visa", "pm_card_chargeDeclined",
                     *IDS.values()]),
    junk_text,
    st.integers(0, 300_000).map(lambda n: "9" * n),
)
key_segment = st.one_of(st.sampled_from(["", "0", "1", "-1", "01", "1000", "1001", "99999999999999999999", "a",
                                         "amount", "metadata", "lines", "period", "end"]),
                        st.text(string.ascii_letters + string.digits + "_", max_size=8))


@st.composite
def form_keys(draw: st.DrawFn) -> str:
    """Parameter names: contract ones or junk, with 0..20 bracket segments (some malformed)."""
    op = draw(st.sampled_from(OPERATIONS))
    names = sorted(op.request_schema.get("properties", {})) or ["x"]
    base = draw(st.one_of(st.sampled_from(names), st.text(max_size=6)))
    segments = draw(st.lists(key_segment, max_size=20))
    key = base + "".join(f"[{s}]" for s in segments)
    if draw(st.booleans()) and draw(st.booleans()):
        key += draw(st.sampled_from(["[", "]", "[[a]]", "][", "[a", "a]"]))
    return key


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(form_keys(), scalar), max_size=12))
    raw = "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw += draw(st.sampled_from([b"&%ff=%fe", b"&a=%C3%28", b"&\xff\xfe=1", b"&=", b"&&&", b"&%", b"&a=b=c"]))
    return raw


@st.composite
def typed_bodies(draw: st.DrawFn) -> bytes:
    """Right parameter names for some operation, odd values: gets past the decoder into validation/handlers."""
    op = draw(st.sampled_from(OPERATIONS))
    props = op.request_schema.get("properties", {})
    pairs = []
    for name in draw(st.lists(st.sampled_from(sorted(props) or ["x"]), max_size=6, unique=True)):
        sub = props.get(name, {})
        children = sorted(sub.get("properties", {})) or sorted((sub.get("items") or {}).get("properties", {}))
        if children and draw(st.booleans()):
            child = draw(st.sampled_from(children))
            index = "[0]" if sub.get("type") == "array" else ""
            pairs.append((f"{name}{index}[{child}]", draw(scalar)))
        else:
            pairs.append((name, draw(scalar)))
    if draw(st.integers(0, 3)):  # mostly well-encoded, so the request gets past the decoder
        return "&".join(f"{k}={quote_plus(v, safe='[]')}" for k, v in pairs).encode()
    return "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")


NASTY = [
    b"a=1&a[b]=2", b"a[b]=2&a=1", b"a=1&a=2", b"a[]=1&a[0]=2", b"a[0]=1&a[]=2",
    b"lines[0][amount]=1&lines[5][amount]=2",
    b"lines[99999999999999999999][amount]=1", b"lines[-1][amount]=1", b"lines[1000000][amount]=1", b"metadata[",
    b"%", b"=&=&", b"expand[]=customer&" * 40, b"metadata[k]=" + b"v" * 600, b"metadata=" + b"x" * 10,
    b"&".join(b"metadata[k%d]=v" % n for n in range(60)), b"a" + b"[a]" * 50 + b"=1",
    b"lines" + b"[0]" * 50 + b"=1", b"a" * 100_000 + b"=1", b"a=" + b"1" * 500_000, b"\xff\xfe\xfd",
    b"customer=%ff", b"expand[0]=" + b"a." * 50 + b"b", b"expand[0]=lines.data.discounts.x.y.z",
    b"lines[0][amount]=1&lines[0][amount]=2", b"limit=0", b"limit=101", b"limit=-0", b"limit=1e2",
    b"features[]=transactions&features[0]=balance", b"{\"customer\": \"cus_1\"}", b"--x\r\nContent-Disposition: form",
    b"&".join(b"k%d=1" % n for n in range(2500)),
]
bodies = st.one_of(st.just(b""), st.binary(max_size=300), form_bodies(), typed_bodies(), st.sampled_from(NASTY))
queries = st.one_of(st.just(b""), st.binary(max_size=100), form_bodies(), typed_bodies(), st.sampled_from(NASTY))


def _basic(user: bytes) -> str:
    return "Basic " + base64.b64encode(user).decode()


GOOD_AUTH = f"Bearer {KEY}"
auth_headers = st.one_of(
    st.sampled_from([GOOD_AUTH, GOOD_AUTH, GOOD_AUTH, GOOD_AUTH, _basic(KEY.encode() + b":"), None, "", "Bearer",
                     "Bearer ", "Bearer sk_live_abc", "Bearer sk_test_", "bearer " + KEY, "Basic", "Basic !!!",
                     _basic(b"\xff\xfe:"), _basic(b":" + KEY.encode()), _basic(b"sk_live_x:"), "Token " + KEY,
                     "Bearer " + KEY + " extra", "Bearer " + "sk_test_" + "a" * 5000, "Basic " + "A" * 10_001]),
    latin1_header.map(lambda h: "Bearer " + h), latin1_header,
)
content_types = st.one_of(
    st.sampled_from([None, FORM, FORM, FORM, f"{FORM}; charset=utf-8", f"{FORM.upper()};charset=latin-1",
                     "application/json", "multipart/form-data; boundary=x", "text/plain", "", ";", "*/*"]),
    latin1_header,
)
extra_headers = st.dictionaries(
    st.sampled_from(["idempotency-key", "stripe-version", "stripe-account", "accept", "x-junk",
                     "content-length"]),
    st.one_of(latin1_header, st.sampled_from(["", "1", "0", "-1", "99999999999", "abc", "\xb2", "9" * 5000,
                                              "0" * 50 + "1"])),
    max_size=3,
)


def check_answer(answer: Answer) -> None:
    """A well-formed answer: never a 5xx, always JSON with a request ID; errors carry type and message."""
    assert answer.status < 500, answer.body
    assert answer.headers.get("content-type") == "application/json", answer.headers
    assert answer.headers.get("request-id", "").startswith("req_"), answer.headers
    assert isinstance(answer.body, dict), answer.body
    if answer.status >= 400:
        error = answer.body.get("error")
        assert isinstance(error, dict), answer.body
        assert isinstance(error.get("type"), str) and error["type"], answer.body
        assert isinstance(error.get("message"), str) and error["message"], answer.body


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
@given(target=targets(), query=queries, body=bodies, auth=auth_headers, ctype=content_types, extra=extra_headers)
def test_fuzzed_requests_never_5xx(target: tuple[str, str], query: bytes, body: bytes, auth: str | None,
                                   ctype: str | None, extra: dict[str, str]) -> None:
    method, path = target
    headers: dict[str, Any] = dict(extra)
    if auth is not None:
        headers["authorization"] = auth
    if ctype is not None:
        headers["content-type"] = ctype
    check_answer(call_raw(APP, method, path, query=query, body=body, headers=headers))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(op_index=st.integers(0, len(CONTRACT.operations) - 1), body=st.one_of(typed_bodies(), form_bodies()))
def test_fuzzed_bodies_on_real_objects_never_5xx(op_index: int, body: bytes) -> None:
    """Every operation, on objects that exist, with a well-authenticated form request: only the body is hostile."""
    op = OPERATIONS[op_index]
    path = fill_path(op.path, {**IDS, "id": IDS["customer"], "transaction": "fctxn_x", "report": "vr_x",
                               "invoice_payment": "inpay_x"})
    headers = {"authorization": GOOD_AUTH, "content-type": FORM}
    if op.method == "POST":
        answer = call_raw(APP, "POST", path, body=body, headers=headers)
    else:
        answer = call_raw(APP, op.method, path, query=body, headers=headers)
    check_answer(answer)


# -- examples -----------------------------------------------------------------------------------------------------


@pytest.fixture
def app() -> MockApp:
    return MockApp()


def test_oversized_body_is_413(app: MockApp) -> None:
    body = b"description=" + b"x" * (MAX_BODY + 10)
    answer = call_raw(app, "POST", "/v1/customers", body=body, headers={"authorization": GOOD_AUTH,
                                                                       "content-type": FORM})
    check_answer(answer)
    assert answer.status == 413
    declared = call_raw(app, "POST", "/v1/customers", body=b"a=1",
                        headers={"authorization": GOOD_AUTH, "content-type": FORM, "content-length": str(MAX_BODY + 1)})
    check_answer(declared)
    assert declared.status == 413
    for odd in ("\xb2", "9" * 5000):  # a Unicode digit; more digits than int() parses (both were a 500)
        answer = call_raw(app, "POST", "/v1/customers", body=b"a=1",
                          headers={"authorization": GOOD_AUTH, "content-type": FORM, "content-length": odd})
        check_answer(answer)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_unsupported_method_on_known_path_is_4xx(app: MockApp, method: str) -> None:
    answer = call_raw(app, method, "/v1/invoices", body=b"customer=cus_x",
                      headers={"authorization": GOOD_AUTH, "content-type": FORM})
    check_answer(answer)
    assert answer.status in (404, 405)


def test_unknown_route_is_404_json(app: MockApp) -> None:
    answer = call_raw(app, "GET", "/v1/nothing_here", headers={"authorization": GOOD_AUTH})
    check_answer(answer)
    assert answer.status == 404
    assert answer.error["type"] == "invalid_request_error"


@pytest.mark.parametrize(("auth", "why"), [
    (None, "missing"), ("Bearer", "empty bearer"), ("Bearer not_a_key", "malformed"), ("Basic !!!", "bad base64"),
    ("Bearer sk_live_abcdef123456", "live key"), (_basic(b"sk_live_abcdef123456:"), "live key via basic"),
    ("Token " + KEY, "unknown scheme"),
])
def test_bad_keys_are_401(app: MockApp, auth: str | None, why: str) -> None:
    headers = {} if auth is None else {"authorization": auth}
    answer = call_raw(app, "GET", "/v1/invoices", headers=headers)
    check_answer(answer)
    assert answer.status == 401, why
    assert answer.error["type"] == "invalid_request_error"


def test_basic_auth_with_key_as_username(app: MockApp) -> None:
    created = call_raw(app, "POST", "/v1/customers", body=b"email=a%40example.com",
                       headers={"authorization": _basic(KEY.encode() + b":"), "content-type": FORM})
    check_answer(created)
    assert created.status == 200 and created.body["object"] == "customer"
    # the same account as Bearer with that key
    seen = call_raw(app, "GET", f"/v1/customers/{created.body['id']}", headers={"authorization": GOOD_AUTH})
    assert seen.status == 200 and seen.body["id"] == created.body["id"]
