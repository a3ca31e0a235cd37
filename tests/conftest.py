"""Fixtures for the mock's own tests: a fresh in-process app, a client for its first account and one for
another account; and `FakeAnswer`, what the fake clients of the harness's unit tests answer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness import findings, steps
from mockserver.app import MockApp
from mockserver.testing import InProcessClient

OTHER_KEY = "sk_test_other_account_0001"


@dataclass
class FakeAnswer:
    """The part of `harness.client.Response` the fake clients of unit tests answer with."""

    status: int
    body: dict


@pytest.fixture
def app() -> MockApp:
    return MockApp()


@pytest.fixture
def client(app: MockApp) -> InProcessClient:
    return InProcessClient(app)


@pytest.fixture
def other(app: MockApp) -> InProcessClient:
    return InProcessClient(app, api_key=OTHER_KEY)


@pytest.fixture
def fresh_findings():
    """A clean findings registry and no current test, before and after: tests that record findings on purpose
    must neither see each other's nor fail for them."""
    findings.reset()
    steps.reset()
    findings.set_current_test(None)
    yield
    findings.reset()
    steps.reset()
    findings.set_current_test(None)
