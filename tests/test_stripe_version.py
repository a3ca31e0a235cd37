"""The API version pin: the contract records the `stripe` package's API version, the harness sends it as
`Stripe-Version` on every request (`--stripe-version` overrides), and the mock answers with it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from contracts.loader import load_contract
from harness.client import ApiClient
from harness.plugin import stripe_version
from harness.target import start_embedded_mock
from mockserver.app import MockApp
from mockserver.testing import InProcessClient

stripe = pytest.importorskip("stripe", reason="the stripe package (a dev dependency) is the version's source")


def test_the_contract_records_the_stripe_packages_api_version() -> None:
    contract = load_contract()
    assert contract.stripe_version == stripe.api_version
    assert contract.doc["info"]["x-stripe-package"] == stripe.VERSION


def test_the_mock_answers_with_the_contracts_version() -> None:
    client = InProcessClient(MockApp())
    for answer in (client.get("/v1/invoices"), client.get("/v1/nowhere"), client.post("/v1/invoices", {})):
        assert answer.headers.get("stripe-version") == load_contract().stripe_version


def _config(value: str | None) -> SimpleNamespace:
    return SimpleNamespace(getoption=lambda name: value if name == "--stripe-version" else None)


def test_the_option_overrides_the_contracts_version() -> None:
    assert stripe_version(_config(None)) == load_contract().stripe_version
    assert stripe_version(_config("2024-06-20")) == "2024-06-20"


def test_every_request_carries_the_pinned_version_and_the_curl_line_shows_it() -> None:
    headers = {"Stripe-Version": "2026-10-28.endive"}
    with start_embedded_mock((), (), label="version") as target, \
            ApiClient(target.base_url, target.api_key, default_headers=headers) as api:
        for resp in (api.get("/v1/invoices"), api.post("/v1/invoices", {"customer": "cus_missing"})):
            sent = {k.lower(): v for k, v in resp.exchange.request_headers.items()}
            assert sent["stripe-version"] == "2026-10-28.endive"
            assert resp.headers.get("Stripe-Version") == load_contract().stripe_version
            assert "Stripe-Version: 2026-10-28.endive" in resp.exchange.curl()
