"""Redaction must hide keys everywhere while keeping enough (key type, scheme) to debug auth failures."""

from __future__ import annotations

import base64
import uuid

from harness.redaction import (
    ELLIPSIS,
    REDACTED,
    redact_headers,
    redact_key,
    redact_text,
    register_secret,
    registered_secrets,
    scrub,
    scrub_obj,
)

MARK = f"{ELLIPSIS}{REDACTED}"


def _fresh_key(prefix: str = "sk_test_") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def test_redact_key_keeps_prefix_up_to_second_underscore() -> None:
    assert redact_key("sk_test_51Habc123") == f"sk_test_{MARK}"
    assert redact_key("rk_live_abc_def_ghi") == f"rk_live_{MARK}"
    assert redact_key("whsec_abcdef") == f"whsec_{MARK}"


def test_redact_key_never_keeps_secret_looking_material() -> None:
    assert redact_key("nounderscoresecret") == MARK
    assert redact_key("") == MARK
    # A long first segment is key material, not a type tag.
    assert redact_key("averyveryverylongsegment_x_y") == MARK
    assert redact_key("sk_Zz9$9_rest") == f"sk_{MARK}"


def test_redact_headers_redacts_credentials_and_leaves_identifiers() -> None:
    key = _fresh_key()
    headers = {
        "Authorization": f"Bearer {key}",
        "Stripe-Account": "acct_123",
        "Idempotency-Key": "harness-abc",
        "Cookie": "session=xyz",
    }
    redacted = redact_headers(headers)
    assert redacted["Authorization"] == f"Bearer sk_test_{MARK}"
    assert redacted["Stripe-Account"] == "acct_123"
    assert redacted["Idempotency-Key"] == "harness-abc"
    assert redacted["Cookie"] == MARK
    assert headers["Authorization"] == f"Bearer {key}", "input must not be mutated"


def test_redact_headers_basic_and_case_insensitive() -> None:
    key = _fresh_key()
    basic = base64.b64encode(f"{key}:".encode()).decode()
    redacted = redact_headers({"authorization": f"Basic {basic}"})
    assert redacted == {"authorization": f"Basic {MARK}"}
    assert redact_headers(None) == {}


def test_redact_text_replaces_every_secret_longest_first() -> None:
    short = _fresh_key()
    longer = f"{short}EXTRA"
    text = f"a={short} b={longer} c={short}"
    out = redact_text(text, [short, longer])
    assert short not in out
    assert "EXTRA" not in out, "the longer key must be redacted whole, not left with a tail"
    assert out.count(f"sk_test_{MARK}") == 3


def test_redact_text_catches_basic_auth_encoding() -> None:
    key = _fresh_key()
    basic = base64.b64encode(f"{key}:".encode()).decode()
    assert basic not in redact_text(f"Authorization: Basic {basic}", [key])


def test_redact_text_ignores_empty_and_trivial_secrets() -> None:
    assert redact_text("abc", ["", "a"]) == "abc"
    assert redact_text("", ["secret"]) == ""


def test_registry_scrubs_all_registered_secrets() -> None:
    first, second = _fresh_key(), _fresh_key("rk_test_")
    register_secret(first)
    register_secret(second)
    register_secret(None)
    register_secret("")
    assert {first, second} <= registered_secrets()
    out = scrub(f"{first} and {second}")
    assert first not in out and second not in out
    assert "rk_test_" in out


def test_scrub_obj_walks_nested_json_including_keys() -> None:
    key = _fresh_key()
    register_secret(key)
    data = {"headers": {"Authorization": f"Bearer {key}"}, key: [key, 1, None, {"k": (key,)}]}
    out = scrub_obj(data)
    assert key not in repr(out)
    assert out["headers"]["Authorization"] == f"Bearer sk_test_{MARK}"
    assert key in repr(data), "scrub_obj returns a copy"
