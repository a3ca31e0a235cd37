"""The mock's Identity behaviour: session lifecycle, verification reports, redaction, filters, isolation."""

from __future__ import annotations

import functools

import pytest

from mockserver.testing import InProcessClient, fails, listed, ok

SESSIONS = "/v1/identity/verification_sessions"
REPORTS = "/v1/identity/verification_reports"







def new_session(client: InProcessClient, **params: object) -> dict:
    return ok(client.post(SESSIONS, params), "CreateIdentityVerificationSession")


def verify(client: InProcessClient, session_id: str, **params: object) -> dict:
    return ok(client.post(f"/v1/test_helpers/identity/verification_sessions/{session_id}/verify", params),
              "TestHelperVerifyIdentityVerificationSession")


def get_session(client: InProcessClient, session_id: str, **params: object) -> dict:
    return ok(client.get(f"{SESSIONS}/{session_id}", params), "RetrieveIdentityVerificationSession")


def test_create_defaults_and_fields(client: InProcessClient) -> None:
    customer = ok(client.post("/v1/customers", {"email": "a@example.com"}), "CreateCustomer")
    session = new_session(
        client, metadata={"order": "42"}, client_reference_id="user_1", return_url="https://example.com/back",
        provided_details={"email": "jenny@example.com", "phone": "+15555550100"}, related_customer=customer["id"],
        related_person={"account": "acct_123", "person": "person_456"},
        options={"document": {"allowed_types": ["passport"], "require_matching_selfie": True}},
    )
    assert session["id"].startswith("vs_")
    assert session["status"] == "requires_input"
    assert session["type"] == "document"
    assert session["client_secret"].startswith(f"{session['id']}_secret_")
    assert session["url"].startswith("https://verify.stripe.com/start/")
    assert session["metadata"] == {"order": "42"}
    assert session["client_reference_id"] == "user_1"
    # provided_details and verified_outputs are includable: only there when expanded (Stripe's API reference)
    assert "provided_details" not in session and "verified_outputs" not in session
    assert session["related_customer"] == customer["id"]
    assert session["related_person"] == {"account": "acct_123", "person": "person_456"}
    # the document options come back complete: what was not given reads null
    assert session["options"]["document"] == {"allowed_types": ["passport"], "require_matching_selfie": True,
                                              "require_id_number": None, "require_live_capture": None}
    assert session["livemode"] is False
    assert session["last_verification_report"] is None
    assert get_session(client, session["id"]) == session
    expanded = get_session(client, session["id"], expand=["provided_details", "verified_outputs"])
    assert expanded["provided_details"] == {"email": "jenny@example.com", "phone": "+15555550100"}
    assert expanded["verified_outputs"] is None
    assert {k: v for k, v in expanded.items() if k not in ("provided_details", "verified_outputs")} == session


def test_create_from_verification_flow_and_type_exclusive(client: InProcessClient) -> None:
    session = new_session(client, verification_flow="vf_123")
    assert session["type"] == "verification_flow"
    assert session["verification_flow"] == "vf_123"
    assert new_session(client, type="id_number")["type"] == "id_number"
    fails(client.post(SESSIONS, {"type": "document", "verification_flow": "vf_1"}), 400, "type")


def test_create_with_unknown_customer_is_400(client: InProcessClient, other: InProcessClient) -> None:
    fails(client.post(SESSIONS, {"related_customer": "cus_nope"}), 400, "related_customer", "resource_missing")
    theirs = ok(other.post("/v1/customers", {}), "CreateCustomer")
    fails(client.post(SESSIONS, {"related_customer": theirs["id"]}), 400, "related_customer")


def test_update_while_requires_input(client: InProcessClient) -> None:
    session = new_session(client, metadata={"a": "1", "b": "2"}, provided_details={"email": "x@example.com"})
    updated = ok(client.post(f"{SESSIONS}/{session['id']}", {
        "metadata": {"a": "", "c": "3"}, "type": "id_number", "provided_details": {"phone": "+15555550101"},
        "options": {"document": {"require_id_number": True}},
    }), "UpdateIdentityVerificationSession")
    assert updated["metadata"] == {"b": "2", "c": "3"}
    assert updated["type"] == "id_number"
    assert get_session(client, session["id"], expand=["provided_details"])["provided_details"] == {
        "email": "x@example.com", "phone": "+15555550101"}
    assert updated["options"]["document"] == {"require_id_number": True, "allowed_types": None,
                                              "require_live_capture": None, "require_matching_selfie": None}
    cleared = ok(client.post(f"{SESSIONS}/{session['id']}", {"metadata": "", "options": {"document": ""}}),
                 "UpdateIdentityVerificationSession")
    assert cleared["metadata"] == {}
    assert "document" not in cleared["options"]


def test_update_metadata_overflow_leaves_session_unchanged(client: InProcessClient) -> None:
    session = new_session(client, metadata={f"k{i}": "v" for i in range(30)})
    answer = client.post(f"{SESSIONS}/{session['id']}", {"metadata": {f"n{i}": "v" for i in range(30)},
                                                           "type": "id_number"})
    fails(answer, 400, "metadata")
    assert get_session(client, session["id"]) == session


def test_verify_creates_report_and_expands(client: InProcessClient) -> None:
    session = new_session(client, client_reference_id="ref_9", provided_details={"email": "v@example.com"},
                          options={"document": {"require_matching_selfie": True, "require_id_number": True}})
    verified = verify(client, session["id"])
    assert verified["status"] == "verified"
    assert verified["client_secret"] is None and verified["url"] is None
    assert "verified_outputs" not in verified
    outputs = get_session(client, session["id"], expand=["verified_outputs"])["verified_outputs"]
    assert outputs["first_name"] and outputs["last_name"] and "dob" not in outputs and "id_number" not in outputs
    outputs = get_session(client, session["id"], expand=["verified_outputs.dob"])["verified_outputs"]
    assert outputs["dob"]["year"] and "id_number" not in outputs
    assert outputs["address"]["line1"] and outputs["email"] == "v@example.com"
    assert outputs["id_number_type"] == "us_ssn"
    report_id = verified["last_verification_report"]
    assert report_id.startswith("vr_")
    report = ok(client.get(f"{REPORTS}/{report_id}"), "RetrieveIdentityVerificationReport")
    assert report["type"] == "document"
    assert report["verification_session"] == session["id"]
    assert report["client_reference_id"] == "ref_9"
    assert report["document"]["status"] == "verified"
    assert report["selfie"]["status"] == "verified"
    assert report["id_number"]["status"] == "verified"
    hidden = {"document": ("dob", "number", "sex", "unparsed_place_of_birth", "unparsed_sex"),
              "id_number": ("dob", "id_number")}
    for check, names in hidden.items():
        assert not set(names) & set(report[check]), f"{check}: includable fields shown without expand"
    shown = ok(client.get(f"{REPORTS}/{report_id}", {"expand": [f"{c}.{n}" for c, ns in hidden.items() for n in ns]}),
               "RetrieveIdentityVerificationReport")
    assert shown["document"]["dob"]["year"] and shown["document"]["number"] and shown["id_number"]["id_number"]
    expanded = get_session(client, session["id"], expand=["last_verification_report"])
    assert expanded["last_verification_report"] == report
    listed = ok(client.get(SESSIONS, {"expand": ["data.last_verification_report"]}),
                "ListIdentityVerificationSessions")
    assert listed["data"][0]["last_verification_report"]["id"] == report_id


@pytest.mark.parametrize(("params", "kind"), [({"type": "id_number"}, "id_number"),
                                              ({"verification_flow": "vf_1"}, "verification_flow")])
def test_report_type_follows_session_type(client: InProcessClient, params: dict, kind: str) -> None:
    session = verify(client, new_session(client, **params)["id"])
    report = ok(client.get(f"{REPORTS}/{session['last_verification_report']}"),
                "RetrieveIdentityVerificationReport")
    assert report["type"] == kind
    if kind == "id_number":
        assert report["id_number"]["status"] == "verified" and report["document"] is None
    else:
        assert report["document"]["status"] == "verified"


def test_cancel_is_final(client: InProcessClient) -> None:
    session = new_session(client)
    canceled = ok(client.post(f"{SESSIONS}/{session['id']}/cancel"), "CancelIdentityVerificationSession")
    assert canceled["status"] == "canceled"
    for path in ("/cancel", "", "/redact"):
        fails(client.post(f"{SESSIONS}/{session['id']}{path}", {}), 400, code="invalid_state")
    fails(client.post(f"/v1/test_helpers/identity/verification_sessions/{session['id']}/verify"), 400)
    assert get_session(client, session["id"]) == canceled


def test_verified_refuses_cancel_update_verify(client: InProcessClient) -> None:
    session = verify(client, new_session(client, metadata={"k": "v"})["id"])
    fails(client.post(f"{SESSIONS}/{session['id']}/cancel"), 400, code="invalid_state")
    fails(client.post(f"{SESSIONS}/{session['id']}", {"metadata": {"k": "w"}}), 400, code="invalid_state")
    fails(client.post(f"/v1/test_helpers/identity/verification_sessions/{session['id']}/verify"), 400)
    assert get_session(client, session["id"]) == session


def test_redact_verified_session_and_its_report(client: InProcessClient) -> None:
    session = new_session(client, metadata={"k": "v"}, client_reference_id="keep_me",
                          provided_details={"email": "r@example.com", "phone": "+15555550102"},
                          options={"document": {"require_id_number": True}})
    verified = verify(client, session["id"])
    personal = ["provided_details", "verified_outputs", "verified_outputs.dob", "verified_outputs.id_number"]
    redacted = ok(client.post(f"{SESSIONS}/{session['id']}/redact", {"expand": personal}),
                  "RedactIdentityVerificationSession")
    assert redacted["redaction"] == {"status": "redacted"}
    assert redacted["status"] == "verified"
    assert redacted["metadata"] == {}
    assert redacted["client_reference_id"] == "keep_me"
    assert redacted["provided_details"] == {"email": "[redacted]", "phone": "[redacted]"}
    outputs = redacted["verified_outputs"]
    for name in ("first_name", "last_name", "email", "phone", "id_number"):
        assert outputs[name] == "[redacted]"
    assert outputs["address"]["line1"] == "[redacted]"
    assert outputs["dob"] == {"day": None, "month": None, "year": None}
    report = ok(client.get(f"{REPORTS}/{verified['last_verification_report']}", {"expand": ["id_number.id_number"]}),
                "RetrieveIdentityVerificationReport")
    assert report["document"]["first_name"] == "[redacted]"
    assert report["document"]["status"] == "verified"
    assert report["document"]["files"] == []
    assert report["id_number"]["id_number"] == "[redacted]"
    # Redaction is final: no second redaction, no update, no cancel; the object stays as it is.
    for path, params in (("/redact", {}), ("", {"metadata": {"a": "b"}}), ("/cancel", {})):
        fails(client.post(f"{SESSIONS}/{session['id']}{path}", params), 400, code="invalid_state")
    assert get_session(client, session["id"], expand=personal) == redacted


def test_redact_requires_input_cancels_it(client: InProcessClient) -> None:
    session = new_session(client, provided_details={"email": "q@example.com"}, metadata={"a": "b"})
    redacted = ok(client.post(f"{SESSIONS}/{session['id']}/redact", {"expand": ["provided_details"]}),
                  "RedactIdentityVerificationSession")
    assert redacted["redaction"] == {"status": "redacted"}
    assert redacted["status"] == "canceled"  # Stripe's redact reference: a session awaiting input is canceled
    assert redacted["provided_details"]["email"] == "[redacted]"
    assert redacted["metadata"] == {}
    fails(client.post(f"/v1/test_helpers/identity/verification_sessions/{session['id']}/verify"), 400)


def test_list_filters(client: InProcessClient) -> None:
    customer = ok(client.post("/v1/customers", {}), "CreateCustomer")
    a = new_session(client, client_reference_id="ref_a", related_customer=customer["id"])
    b = new_session(client, client_reference_id="ref_b", related_customer_account="acct_9")
    c = new_session(client, type="id_number")
    verify(client, b["id"])
    ok(client.post(f"{SESSIONS}/{c['id']}/cancel"), "CancelIdentityVerificationSession")

    ids = functools.partial(listed, client, SESSIONS, "ListIdentityVerificationSessions")

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(client_reference_id="ref_a") == [a["id"]]
    assert ids(related_customer=customer["id"]) == [a["id"]]
    assert ids(related_customer_account="acct_9") == [b["id"]]
    assert ids(status="verified") == [b["id"]]
    assert ids(status="canceled") == [c["id"]]
    assert ids(status="requires_input") == [a["id"]]
    assert ids(created={"gte": a["created"]}) == [c["id"], b["id"], a["id"]]
    assert ids(created={"lt": a["created"]}) == []
    assert ids(limit=2) == [c["id"], b["id"]]
    assert ids(starting_after=b["id"]) == [a["id"]]
    assert ids(ending_before=a["id"]) == [c["id"], b["id"]]


def test_report_list_filters(client: InProcessClient) -> None:
    s1 = verify(client, new_session(client, client_reference_id="r1")["id"])
    s2 = verify(client, new_session(client, type="id_number")["id"])
    r1, r2 = s1["last_verification_report"], s2["last_verification_report"]

    ids = functools.partial(listed, client, REPORTS, "ListIdentityVerificationReports")

    assert ids() == [r2, r1]
    assert ids(type="document") == [r1]
    assert ids(type="id_number") == [r2]
    assert ids(verification_session=s1["id"]) == [r1]
    assert ids(client_reference_id="r1") == [r1]
    assert ids(created={"gt": 0}) == [r2, r1]


def test_isolation(client: InProcessClient, other: InProcessClient) -> None:
    session = verify(client, new_session(client)["id"])
    pending = new_session(client)
    report_id = session["last_verification_report"]
    for sid in (session["id"], pending["id"]):
        fails(other.get(f"{SESSIONS}/{sid}"), 404, code="resource_missing")
        fails(other.post(f"{SESSIONS}/{sid}", {"metadata": {"x": "y"}}), 404)
        for action in ("cancel", "redact"):
            fails(other.post(f"{SESSIONS}/{sid}/{action}"), 404)
    fails(other.post(f"/v1/test_helpers/identity/verification_sessions/{pending['id']}/verify"), 404)
    fails(other.get(f"{REPORTS}/{report_id}"), 404, code="resource_missing")
    assert ok(other.get(SESSIONS), "ListIdentityVerificationSessions")["data"] == []
    assert ok(other.get(REPORTS), "ListIdentityVerificationReports")["data"] == []
    fails(other.get(SESSIONS, {"starting_after": session["id"]}), 400, "starting_after")
    assert get_session(client, pending["id"])["status"] == "requires_input"


def test_unknown_ids_and_bad_params(client: InProcessClient) -> None:
    fails(client.get(f"{SESSIONS}/vs_missing"), 404, code="resource_missing")
    fails(client.post(f"{SESSIONS}/vs_missing/cancel"), 404)
    fails(client.get(f"{REPORTS}/vr_missing"), 404)
    fails(client.post(SESSIONS, {"type": "selfie"}), 400, "type")
    fails(client.get(SESSIONS, {"status": "done"}), 400, "status")
    fails(client.post(SESSIONS, {"related_person": {"account": "acct_1"}}), 400, "related_person[person]")
