"""The request strategies agree with the contract's own validator, and the mock accepts what they call valid.

Valid and boundary requests must pass `contracts.validation.validate` after a real encode/decode round trip;
every invalid request must fail it naming exactly the labelled `param` (and `code`, when the label has one).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from contracts.loader import Operation, load_contract
from contracts.validation import validate
from mockserver.app import MAX_BODY
from mockserver.errors import ApiError as MockApiError
from mockserver.expand import check_expand
from mockserver.handlers import handlers_for
from mockserver.testing import InProcessClient
from strategies import (
    ApiRequest,
    MissingReference,
    Refs,
    boundary_requests,
    boundary_values,
    defects,
    invalid_requests,
    valid_requests,
    values,
)
from strategies.hints import Ordered, exactly_one_of
from wire.codec import MAX_PAIRS, FormError, decode, encode, encode_body
from wire.errors import ParamError

CONTRACT = load_contract()
OPERATIONS = CONTRACT.seed_operations
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
FEW = settings(max_examples=8, deadline=None, suppress_health_check=SUPPRESSED, database=None)
SOME = settings(max_examples=20, deadline=None, suppress_health_check=SUPPRESSED, database=None)
GENERATE = settings(max_examples=2, deadline=None, suppress_health_check=SUPPRESSED, database=None,
                    phases=[Phase.generate])  # for examples that each build hundreds of lines: no shrinking

# Plausible IDs for every pool the hint tables name, with the facts consistency needs.
REFS = Refs(
    pools={
        "customer": ["cus_A1", "cus_B2"],
        "product": ["prod_P1"],
        "payment_method": ["pm_card_visa"],
        "payment_intent": ["pi_1"],
        "invoice:draft": ["in_D1", "in_D2"],
        "invoice:open": ["in_O1"],
        "invoice:open:send_invoice": ["in_S1"],
        "invoice:paid": ["in_P1"],
        "invoice:uncollectible": ["in_U1"],
        "invoice:void": ["in_V1"],
        "invoiceitem:pending": ["ii_P1"],
        "invoiceitem:draft": ["ii_D1"],
        "line_item:draft": ["il_1", "il_2", "il_3"],
        "invoice_payment": ["inpay_1"],
        "invoice_rendering_template:active": ["inrtem_A"],
        "invoice_rendering_template:archived": ["inrtem_Z"],
        "financial_connections.account": ["fca_1"],
        "financial_connections.session": ["fcsess_1"],
        "financial_connections.transaction": ["fctxn_1"],
        "financial_connections.transaction_refresh": ["fctxnref_1_ab"],
        "forwarding.request": ["fwdreq_1"],
        "identity.verification_session:requires_input": ["vs_R"],
        "identity.verification_session:verified": ["vs_V"],
        "identity.verification_report": ["vr_1"],
        "issuing.authorization": ["iauth_1"],
        "issuing.card": ["ic_1"],
        "issuing.cardholder": ["ich_1"],
    },
    attrs={
        "in_D1": {"customer": "cus_A1", "currency": "usd"},
        "in_D2": {"customer": "cus_B2", "currency": "eur"},
        "in_O1": {"customer": "cus_A1", "currency": "usd"},
        "ii_P1": {"customer": "cus_A1", "currency": "usd"},
        "ii_D1": {"customer": "cus_A1", "currency": "usd", "invoice": "in_D1"},
        "il_1": {"invoice": "in_D1"},
        "il_2": {"invoice": "in_D1"},
        "il_3": {"invoice": "in_D2"},
        "fctxn_1": {"account": "fca_1"},
        "fctxnref_1_ab": {"account": "fca_1"},
    },
)


def by_id(op: Operation) -> str:
    return op.operation_id


def round_trip(request: ApiRequest) -> Any:
    return decode(encode(request.params))


def check_accepted(op: Operation, request: ApiRequest) -> None:
    pairs = request.encoded()
    assert len(pairs) <= MAX_PAIRS, f"{request.label}: {len(pairs)} pairs"
    assert len(encode_body(request.params)) <= MAX_BODY
    try:
        validate(round_trip(request), op.request_schema)
    except ParamError as exc:
        pytest.fail(f"{request.label} was rejected: {exc!r}\nparams: {request.params!r}")
    assert request.path.count("{") == 0 and set(request.path_params) == set(op.path_params)


# --------------------------------------------------------------------------- every operation, against the validator


def test_the_contract_has_fifty_operations() -> None:
    assert len(OPERATIONS) == 50


@pytest.mark.parametrize("op", OPERATIONS, ids=by_id)
def test_valid_and_boundary_requests_pass_the_contract(op: Operation) -> None:
    @FEW
    @given(st.one_of(valid_requests(op, REFS), boundary_requests(op, REFS)))
    def check(request: ApiRequest) -> None:
        assert request.kind in ("valid", "boundary") and request.expected is None
        check_accepted(op, request)

    check()


@pytest.mark.parametrize("op", OPERATIONS, ids=by_id)
def test_invalid_requests_fail_with_the_labelled_param(op: Operation) -> None:
    @SOME
    @given(invalid_requests(op, REFS))
    def check(request: ApiRequest) -> None:
        assert request.kind == "invalid" and request.expected is not None
        expected = request.expected
        assert (expected.status, expected.error_type) == (400, "invalid_request_error")
        try:
            params = decode(request.encoded())
        except FormError:
            assert request.raw_pairs is not None and expected.param is None, request.label
            return
        try:
            validate(params, op.request_schema)
        except ParamError as caught:
            error = caught
        else:  # a defect the params' schema cannot see: a header, or an expand path that no response allows
            assert expected.param is None, request.label
            if not request.headers:
                with pytest.raises(MockApiError):
                    check_expand(CONTRACT, op.responses["200"], params["expand"])
            return
        assert expected.param is not None, f"{request.label}: a raw request that decodes"
        assert error.param == expected.param, f"{request.label}: the validator named {error!r}"
        if expected.code is not None:
            assert error.code == expected.code, f"{request.label}: the validator said {error!r}"

    check()


def test_full_size_boundary_case_builds_250_lines_within_the_encoding_limits() -> None:
    op = CONTRACT["AddInvoiceLines"]
    sizes: set[int] = set()

    @GENERATE
    @given(boundary_requests(op, REFS, full_arrays=True))
    def full(request: ApiRequest) -> None:
        assert len(request.params["lines"]) == 250
        check_accepted(op, request)

    @settings(GENERATE, max_examples=30)
    @given(boundary_requests(op, REFS))
    def capped(request: ApiRequest) -> None:
        sizes.add(len(request.params["lines"]))

    full()
    capped()
    assert sizes == {1, 20}


def test_refs_pools_by_kind_include_their_states() -> None:
    assert REFS.ids("invoice") == ["in_D1", "in_D2", "in_O1", "in_S1", "in_P1", "in_U1", "in_V1"]
    assert REFS.ids("invoice:open", "invoice:void") == ["in_O1", "in_V1"]
    grown = REFS.with_ids("customer", "cus_C3", currency="gbp")
    assert grown.ids("customer")[-1] == "cus_C3" and grown.attr("cus_C3", "currency") == "gbp"
    assert REFS.ids("customer") == ["cus_A1", "cus_B2"]


@pytest.mark.parametrize(("operation_id", "kind"), [
    ("RetrieveInvoice", "invoice"),
    ("FinalizeInvoice", "invoice:draft"),
    ("CreateInvoice", "customer"),
    ("CreateForwardingRequest", "payment_method"),
    ("ListFinancialConnectionsTransactions", "financial_connections.account"),
    ("UpdateInvoiceLines", "line_item:draft with a known invoice"),
])
def test_an_empty_pool_is_reported_when_the_strategy_is_built(operation_id: str, kind: str) -> None:
    op = CONTRACT[operation_id]
    for build in (valid_requests, boundary_requests, invalid_requests):
        with pytest.raises(MissingReference) as caught:
            build(op, Refs())
        assert caught.value.kind == kind and caught.value.operation == operation_id
        assert operation_id in str(caught.value)


def test_operations_without_references_need_no_pools() -> None:
    for operation_id in ("ListInvoices", "ListForwardingRequests", "SearchInvoices"):
        valid_requests(CONTRACT[operation_id], Refs())


def test_consistency_hints_hold() -> None:
    @SOME
    @given(valid_requests(CONTRACT["AddInvoiceLines"], REFS))
    def lines(request: ApiRequest) -> None:
        currency = REFS.attr(request.path_params["invoice"], "currency")
        for line in request.params["lines"]:
            assert ("amount" in line) != ("price_data" in line)
            if "period" in line:
                assert line["period"]["start"] <= line["period"]["end"]
            if "price_data" in line:
                assert line["price_data"]["currency"] == currency
                assert ("product" in line["price_data"]) != ("product_data" in line["price_data"])

    @SOME
    @given(valid_requests(CONTRACT["UpdateInvoiceLines"], REFS))
    def own_lines(request: ApiRequest) -> None:
        ids = [line["id"] for line in request.params["lines"]]
        assert len(set(ids)) == len(ids)
        assert all(REFS.attr(i, "invoice") == request.path_params["invoice"] for i in ids)

    @SOME
    @given(valid_requests(CONTRACT["CreateInvoiceItem"], REFS))
    def item(request: ApiRequest) -> None:
        params = request.params
        assert "pricing" not in params and "tax_rates" not in params
        if "invoice" in params:
            assert params["customer"] == REFS.attr(params["invoice"], "customer")
            assert params.get("currency", "usd") in ("usd", REFS.attr(params["invoice"], "currency"))

    for check in (lines, own_lines, item):
        check()


# --------------------------------------------------------------------------- schema-level strategies

LIMIT = {"type": "object", "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100}},
         "additionalProperties": False, "required": ["limit"]}
METADATA = {"anyOf": [{"type": "object", "additionalProperties": {"type": "string", "maxLength": 500},
                       "maxProperties": 50, "x-key-max-length": 40}, {"type": "string", "enum": [""]}]}
PERIOD = {"type": "object", "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}},
          "additionalProperties": False, "required": ["end", "start"]}
LINES = {"type": "object", "additionalProperties": False, "required": ["lines"], "properties": {"lines": {
    "type": "array", "maxItems": 250, "items": {"type": "object", "additionalProperties": False, "properties": {
        "amount": {"type": "integer"}, "description": {"type": "string", "maxLength": 5000},
        "period": PERIOD, "metadata": METADATA,
        "price_data": {"type": "object", "additionalProperties": False, "required": ["currency"],
                       "properties": {"currency": {"type": "string", "maxLength": 5000},
                                      "unit_amount": {"type": "integer"}}}}}}}}


def test_boundary_limit_hits_both_ends() -> None:
    seen = set()

    @settings(max_examples=30, database=None, phases=[Phase.generate])
    @given(boundary_values(LIMIT))
    def check(value: dict) -> None:
        seen.add(value["limit"])

    check()
    assert seen == {1, 100}


def test_boundary_metadata_reaches_every_limit() -> None:
    full = find(boundary_values(METADATA), lambda m: isinstance(m, dict) and len(m) == 50
                and all(len(k) == 40 and len(v) == 500 for k, v in m.items()),
                settings=settings(max_examples=200, database=None))
    validate(full, METADATA)
    assert find(boundary_values(METADATA), lambda m: m == "", settings=settings(database=None)) == ""


@FEW
@given(values(LINES, hints={"lines[*][period]": Ordered("start", "end"),
                            "lines[*]": exactly_one_of("amount", "price_data")}))
def test_values_follow_the_schema_and_the_hints(value: dict) -> None:
    validate(decode(encode(value)), LINES)
    assert 1 <= len(value["lines"]) <= 3
    for line in value["lines"]:
        assert ("amount" in line) != ("price_data" in line)
        if "period" in line:
            assert line["period"]["start"] <= line["period"]["end"]
        assert line.get("description") != ""  # "" unsets: only emptyable fields get it


def test_defects_name_the_exact_nested_param() -> None:
    value = {"lines": [{"amount": 5, "period": {"start": 1, "end": 2}, "metadata": {"k": "v"}}]}
    found = {(d.family, d.param, d.code) for d in defects(LINES, value)}
    assert ("missing", "lines[0][period][end]", "parameter_missing") in found
    assert ("unknown", "lines[0][period][unknown_param]", "parameter_unknown") in found
    assert ("type", "lines[0][amount]", "parameter_invalid_integer") in found
    assert ("metadata", "lines[0][metadata]", None) in found
    assert ("metadata", "lines[0][metadata][" + "k" * 41 + "]", None) in found
    assert ("metadata", "lines[0][metadata][note]", None) in found
    assert ("shape", "lines", None) in found
    assert ("length", "lines[0][description]", None) in found  # added: the value left it out
    assert ("empty", "lines", "parameter_invalid_empty") in found
    assert not any(d.param == "lines[0][amount]" and d.family == "missing" for d in defects(LINES, value))
    for defect in defects(LINES, value):
        with pytest.raises(ParamError) as caught:
            validate(decode(encode(defect.apply(value))), LINES)
        assert caught.value.param == defect.param, defect.label
        assert defect.code in (None, caught.value.code), defect.label


def test_required_nested_params_of_real_operations_are_covered() -> None:
    cases = {
        "CreateForwardingRequest": ({"payment_method": "pm_card_visa", "replacements": ["card_cvc"],
                                     "url": "https://a.example.com",
                                     "request": {"headers": [{"name": "A", "value": "b"}]}},
                                    "request[headers][0][name]"),
        "CreateFinancialConnectionsSession": ({"account_holder": {"type": "customer", "customer": "cus_A1"},
                                               "permissions": ["balances"]}, "account_holder[type]"),
    }
    for operation_id, (value, param) in cases.items():
        schema = CONTRACT[operation_id].request_schema
        validate(value, schema)
        assert any(d.family == "missing" and d.param == param for d in defects(schema, value)), operation_id
    limit = [d for d in defects(CONTRACT["ListInvoices"].request_schema, {"limit": 10}) if d.param == "limit"]
    assert {d.value for d in limit} >= {0, 101, -1, "abc", "1.5"}
    assert all(d.code == "parameter_invalid_integer" for d in limit if d.family in ("type", "range"))


# --------------------------------------------------------------------------- the mock accepts valid requests

HANDLER_MODULES = {
    "CreateInvoice": "invoices", "CreateInvoiceItem": "invoice_items", "AddInvoiceLines": "invoice_items",
    "CreateIdentityVerificationSession": "identity", "CreateFinancialConnectionsSession": "financial_connections",
    "CreateForwardingRequest": "forwarding",
}


@pytest.fixture(scope="module")
def mock_world() -> tuple[InProcessClient, Refs]:
    """Customers, products and draft invoices made through the mock's own API; the Refs that name them."""
    client = InProcessClient()

    def made(path: str, params: dict) -> dict:
        answer = client.post(path, params)
        assert answer.status == 200, answer.body
        return answer.body

    customers = [made("/v1/customers", {"name": f"Customer {n}", "email": f"c{n}@example.com"})["id"]
                 for n in range(2)]
    product = made("/v1/products", {"name": "Widget"})["id"]
    refs = Refs({"customer": customers, "product": [product], "payment_method": ["pm_card_visa"]})
    for customer, currency in zip(customers, ("usd", "eur"), strict=True):
        invoice = made("/v1/invoices", {"customer": customer, "currency": currency})
        refs = refs.with_ids("invoice:draft", invoice["id"], customer=customer, currency=currency)
    return client, refs


@pytest.mark.parametrize("operation_id", sorted(HANDLER_MODULES))
def test_the_mock_accepts_valid_requests(operation_id: str, mock_world: tuple[InProcessClient, Refs]) -> None:
    assert operation_id in handlers_for(CONTRACT), f"no handler for {operation_id} in mockserver/handlers/"
    client, refs = mock_world
    op = CONTRACT[operation_id]

    @settings(max_examples=10, deadline=None, suppress_health_check=SUPPRESSED, database=None)
    @given(valid_requests(op, refs))
    def check(request: ApiRequest) -> None:
        answer = client.request(request.method, request.path, dict(request.params))
        assert 200 <= answer.status < 300, f"{request.label}: {answer.status} {answer.error}\n{request.params!r}"

    check()


def test_the_mock_accepts_250_lines_on_an_empty_draft(mock_world: tuple[InProcessClient, Refs]) -> None:
    client, refs = mock_world
    customer = refs.ids("customer")[0]
    invoice = client.post("/v1/invoices", {"customer": customer, "currency": "usd"}).body["id"]
    fresh = Refs({"product": refs.ids("product")}).with_ids("invoice:draft", invoice, customer=customer,
                                                           currency="usd")
    requests: list[ApiRequest] = []

    @settings(GENERATE, max_examples=1)
    @given(boundary_requests(CONTRACT["AddInvoiceLines"], fresh, full_arrays=True))
    def draw(request: ApiRequest) -> None:
        requests.append(request)

    draw()
    answer = client.post(requests[0].path, dict(requests[0].params))
    assert answer.status == 200, answer.error
    assert answer.body["lines"]["total_count"] == 250
