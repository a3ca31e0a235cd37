"""The mock's forwarding requests: fabricated destination answers, replacements, references, filters, isolation."""

from __future__ import annotations

import socket

import pytest

from mockserver.testing import InProcessClient, fails, ok

REQUESTS = "/v1/forwarding/requests"
BODY = ('{"card":{"number":"{{CARD_NUMBER}}","cvc":"{{CARD_CVC}}","exp":"{{CARD_EXPIRY}}",'
        '"name":"{{CARDHOLDER_NAME}}"},"amount":1000}')





@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forwarding must never connect anywhere: any socket connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the mock tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)




def forward(client: InProcessClient, payment_method: str, **params: object) -> dict:
    params = {"payment_method": payment_method, "url": "https://processor.example/v1/payments",
              "replacements": ["card_number", "card_cvc", "card_expiry", "cardholder_name"], **params}
    return ok(client.post(REQUESTS, params), "CreateForwardingRequest")


def test_forward_with_stored_payment_method(client: InProcessClient) -> None:
    pm = ok(client.post("/v1/payment_methods", {"type": "card", "card": {"token": "pm_card_mastercard"}}),
            "CreatePaymentMethod")
    request = forward(client, pm["id"], metadata={"order": "7"},
                      request={"body": BODY, "headers": [{"name": "Authorization", "value": "Bearer secret"},
                                                         {"name": "Idempotency-Key", "value": "abc"}]})
    assert request["id"].startswith("fwdreq_")
    assert request["payment_method"] == pm["id"]
    assert request["url"] == "https://processor.example/v1/payments"
    assert request["metadata"] == {"order": "7"}
    body = request["request_details"]["body"]
    assert "{{" not in body
    assert "************4444" in body and '"cvc":"***"' in body and "/34" in body
    assert "5555555555554444" not in body  # the stored copy is redacted, as Stripe stores it
    assert request["request_details"]["http_method"] == "POST"
    assert request["request_details"]["headers"] == [{"name": "Authorization", "value": "[redacted]"},
                                                     {"name": "Idempotency-Key", "value": "abc"}]
    assert request["response_details"]["status"] == 200
    assert request["response_details"]["body"]
    assert request["request_context"]["destination_ip_address"] == "203.0.113.7"
    assert request["request_context"]["destination_duration"] > 0
    got = ok(client.get(f"{REQUESTS}/{request['id']}"), "RetrieveForwardingRequest")
    assert got == request


def test_only_requested_replacements_are_applied(client: InProcessClient) -> None:
    request = forward(client, "pm_card_visa", replacements=["card_number"], request={"body": BODY})
    body = request["request_details"]["body"]
    assert "************4242" in body
    assert "{{CARD_CVC}}" in body and "{{CARDHOLDER_NAME}}" in body
    signed = forward(client, "pm_card_visa", replacements=["request_signature"], request={"body": "{}"})
    assert any(h["name"] == "X-Request-Signature" for h in signed["request_details"]["headers"])
    assert forward(client, "pm_card_visa")["request_details"]["body"] == ""


def test_test_tokens_become_payment_methods(client: InProcessClient) -> None:
    request = forward(client, "pm_card_visa")
    assert request["payment_method"].startswith("pm_") and request["payment_method"] != "pm_card_visa"
    second = forward(client, "pm_card_visa")
    assert second["payment_method"] != request["payment_method"]


def test_create_errors(client: InProcessClient, other: InProcessClient) -> None:
    fails(client.post(REQUESTS, {"payment_method": "pm_missing", "url": "https://x.example",
                                 "replacements": ["card_number"]}), 400, "payment_method", "resource_missing")
    theirs = ok(other.post("/v1/payment_methods", {}), "CreatePaymentMethod")
    fails(client.post(REQUESTS, {"payment_method": theirs["id"], "url": "https://x.example",
                                 "replacements": ["card_number"]}), 400, "payment_method", "resource_missing")
    for url in ("http://x.example/pay", "ftp://x.example", "https://", "not a url", "https://[::1", ""):
        fails(client.post(REQUESTS, {"payment_method": "pm_card_visa", "url": url,
                                     "replacements": ["card_number"]}), 400, "url")
    fails(client.post(REQUESTS, {"payment_method": "pm_card_visa", "url": "https://x.example",
                                 "replacements": ["card_pin"]}), 400, "replacements[0]")
    fails(client.post(REQUESTS, {"payment_method": "pm_card_visa", "url": "https://x.example"}), 400,
          "replacements", "parameter_missing")
    fails(client.post(REQUESTS, {"payment_method": "pm_card_visa", "url": "https://x.example",
                                 "replacements": ["card_number"], "request": {"headers": [{"name": "A"}]}}),
          400, "request[headers][0][value]")
    assert ok(client.get(REQUESTS), "ListForwardingRequests")["data"] == []


def test_list_and_created_filter(client: InProcessClient) -> None:
    made = [forward(client, "pm_card_visa") for _ in range(3)]
    ids = [r["id"] for r in reversed(made)]
    body = ok(client.get(REQUESTS), "ListForwardingRequests")
    assert [r["id"] for r in body["data"]] == ids and body["url"] == REQUESTS
    created = made[0]["created"]
    assert [r["id"] for r in ok(client.get(REQUESTS, {"created": {"gte": created}}),
                                "ListForwardingRequests")["data"]] == ids
    assert ok(client.get(REQUESTS, {"created": {"gt": created + 1000}}), "ListForwardingRequests")["data"] == []
    assert ok(client.get(REQUESTS, {"created": {"lt": created}}), "ListForwardingRequests")["data"] == []
    page = ok(client.get(REQUESTS, {"limit": 2}), "ListForwardingRequests")
    assert [r["id"] for r in page["data"]] == ids[:2] and page["has_more"] is True
    rest = ok(client.get(REQUESTS, {"starting_after": ids[1]}), "ListForwardingRequests")
    assert [r["id"] for r in rest["data"]] == ids[2:] and rest["has_more"] is False


def test_isolation(client: InProcessClient, other: InProcessClient) -> None:
    request = forward(client, "pm_card_visa")
    fails(other.get(f"{REQUESTS}/{request['id']}"), 404, code="resource_missing")
    assert ok(other.get(REQUESTS), "ListForwardingRequests")["data"] == []
    fails(other.post(REQUESTS, {"payment_method": request["payment_method"], "url": "https://x.example",
                                "replacements": ["card_number"]}), 400, "payment_method")
