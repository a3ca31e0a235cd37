"""Forwarding requests (Vault and Forward): card data injected into a request to a third-party endpoint.

The mock never connects to the given URL (docs/conventions.md, "Forwarding requests"): it fabricates the
destination's answer. What it stores is what Stripe stores: the outgoing request with the requested replacements
applied and sensitive values redacted (card number masked to its last four digits, CVC starred, credential
headers hidden).
Placeholders in `request[body]`: {{CARD_NUMBER}}, {{CARD_CVC}}, {{CARD_EXPIRY}} (MM/YY), {{CARD_EXPIRY_MONTH}},
{{CARD_EXPIRY_YEAR}}, {{CARDHOLDER_NAME}}; each is filled only when its replacement is requested.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mockserver.errors import ApiError
from mockserver.handlers.common import create
from mockserver.handlers.registry import handles
from mockserver.handlers.support import resolve_payment_method

if TYPE_CHECKING:
    from mockserver.context import Context

KIND = "forwarding.request"
DESTINATION_IP = "203.0.113.7"  # TEST-NET-3: documentation-only address, never routable
CARDHOLDER_NAME = "Jenny Rosen"
FULL_TEST_NUMBERS = {"4242": "4242424242424242", "4444": "5555555555554444", "0005": "378282246310005"}
SENSITIVE_HEADERS = ("authorization", "proxy-authorization", "cookie", "api-key", "apikey", "secret", "token",
                     "password")
REDACTED = "[redacted]"
SIGNATURE_HEADER = "X-Request-Signature"


def _card_number(last4: str) -> str:
    return FULL_TEST_NUMBERS.get(last4, f"400000000000{last4}")


def _fill(body: str, pm: dict, replacements: list[str]) -> str:
    """The stored copy of the forwarded body: requested placeholders filled, card number and CVC redacted."""
    card = pm.get("card") or {}
    last4 = str(card.get("last4", ""))
    month = f"{int(card.get('exp_month') or 0):02d}"
    year = str(card.get("exp_year") or "")
    values: dict[str, dict[str, str]] = {
        "card_number": {"{{CARD_NUMBER}}": "*" * (len(_card_number(last4)) - 4) + last4},
        "card_cvc": {"{{CARD_CVC}}": "***"},
        "card_expiry": {"{{CARD_EXPIRY}}": f"{month}/{year[-2:]}", "{{CARD_EXPIRY_MONTH}}": month,
                        "{{CARD_EXPIRY_YEAR}}": year},
        "cardholder_name": {"{{CARDHOLDER_NAME}}": CARDHOLDER_NAME},
    }
    for replacement in replacements:
        for placeholder, value in values.get(replacement, {}).items():
            body = body.replace(placeholder, value)
    return body


def _stored_headers(headers: list[dict]) -> list[dict]:
    out = []
    for header in headers:
        name, value = header["name"], header["value"]
        if any(word in name.lower() for word in SENSITIVE_HEADERS):
            value = REDACTED
        out.append({"name": name, "value": value})
    return out


def _is_https(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme == "https" and bool((parts.hostname or "").strip())
    except ValueError:  # e.g. an unterminated IPv6 literal
        return False


def _check_url(url: str) -> None:
    if not _is_https(url):
        raise ApiError(400, f"Invalid URL: '{url[:200]}'. The destination must be an https:// URL with a host.",
                       code="url_invalid", param="url")


@handles("CreateForwardingRequest")
def create_request(ctx: Context) -> dict:
    p = ctx.params
    _check_url(p["url"])
    pm = resolve_payment_method(ctx, p["payment_method"], "payment_method")
    replacements = list(dict.fromkeys(p["replacements"]))
    request: dict[str, Any] = p.get("request") or {}
    body = _fill(request.get("body", "") or "", pm, replacements)
    headers = _stored_headers(request.get("headers") or [])
    if "request_signature" in replacements:
        digest = hashlib.sha256(f"{p['url']}\n{body}".encode()).hexdigest()
        headers.append({"name": SIGNATURE_HEADER, "value": digest})
    return create(
        ctx, KIND, payment_method=pm["id"], replacements=replacements, url=p["url"],
        metadata=p.get("metadata") or {},
        request_details={"body": body, "headers": headers, "http_method": "POST"},
        response_details={"body": '{"ok":true}', "status": 200,
                          "headers": [{"name": "Content-Type", "value": "application/json"}]},
        request_context={"destination_duration": 40 + secrets.randbelow(160),
                         "destination_ip_address": DESTINATION_IP},
    )


