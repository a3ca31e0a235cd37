"""Identity verification sessions and reports: the session lifecycle (rows `identity.*` of
contracts/rules.yaml) and redaction.

requires_input --verify (test helper)--> verified; requires_input --cancel--> canceled (final);
redact from requires_input or verified, and redacting a session that still waits for input also cancels it
(Stripe's API reference, https://docs.stripe.com/api/identity/verification_sessions/redact). After redaction
personal fields read `[redacted]` (dates lose their numbers), metadata is empty, the session's reports are
redacted too, and any further change is refused.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError, bad_state
from mockserver.handlers.common import create, fetch, merge_metadata, optional, reference
from mockserver.handlers.registry import handles
from mockserver.lifecycle import require
from mockserver.objects import complete_field
from mockserver.store import new_id

if TYPE_CHECKING:
    from mockserver.context import Context

SESSION = "identity.verification_session"
REPORT = "identity.verification_report"
REDACTED = "[redacted]"

# Personal fields, per sub-object, that redaction hides (other fields are statuses and enums, kept as they are).
SESSION_OUTPUT_FIELDS = ("address", "dob", "email", "first_name", "id_number", "last_name", "phone", "sex",
                         "unparsed_place_of_birth", "unparsed_sex")
REPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "document": ("address", "dob", "expiration_date", "files", "first_name", "issued_date", "last_name",
                 "number", "sex", "unparsed_place_of_birth", "unparsed_sex"),
    "email": ("email",),
    "phone": ("phone",),
    "id_number": ("dob", "first_name", "id_number", "last_name"),
    "selfie": ("document", "selfie"),
}

# Fake people a verification "finds" (test mode never reads a real document).
PEOPLE = (
    {"first_name": "Jenny", "last_name": "Rosen", "dob": {"day": 1, "month": 1, "year": 1990},
     "address": {"city": "San Francisco", "country": "US", "line1": "1234 Main St.", "line2": None,
                 "postal_code": "94111", "state": "CA"}},
    {"first_name": "Alex", "last_name": "Moreau", "dob": {"day": 14, "month": 7, "year": 1984},
     "address": {"city": "Austin", "country": "US", "line1": "500 Congress Ave", "line2": "Suite 12",
                 "postal_code": "78701", "state": "TX"}},
    {"first_name": "Sam", "last_name": "Okafor", "dob": {"day": 30, "month": 11, "year": 1979},
     "address": {"city": "Seattle", "country": "US", "line1": "77 Pine St", "line2": None,
                 "postal_code": "98101", "state": "WA"}},
)
TEST_ID_NUMBER = "000000000"


def _redact_value(value: Any) -> Any:
    """Strings read `[redacted]`, numbers (date parts) become null, lists (file IDs) empty; null stays null."""
    if isinstance(value, str):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return []
    return None


def _redact_fields(obj: dict | None, names: tuple[str, ...]) -> None:
    if not isinstance(obj, dict):
        return
    for name in names:
        if obj.get(name) is not None:
            obj[name] = _redact_value(obj[name])


def _options(current: dict | None, update: Any) -> dict:
    """Session options after a create/update: `options[document]=""` removes the document options; the document
    options given are completed (what was not given reads null)."""
    options = dict(current or {})
    if not isinstance(update, dict):
        return options
    if "document" in update:
        document = update["document"]
        if document == "":
            options.pop("document", None)
        else:
            given = {k: v for k, v in document.items() if v != ""}
            options["document"] = complete_field(SESSION, "options", {"document": given})["document"]
    return options


def _provided_details(current: dict | None, update: Any) -> dict | None:
    if not isinstance(update, dict):
        return current
    details = dict(current or {"email": None, "phone": None})
    for name in ("email", "phone"):
        if name in update:
            details[name] = update[name] or None
    return details


def _check_not_redacted(session: dict, action: str) -> None:
    if session.get("redaction") is not None:
        raise bad_state(f"You cannot {action} VerificationSession '{session['id']}' because it has been redacted.")


def _check_requires_input(session: dict, action: str) -> str:
    """The status `action` leaves the session in, from the rules table (identity.update / identity.cancel)."""
    return require("identity.verification_session", action, session, "VerificationSession")


@handles("CreateIdentityVerificationSession")
def create_session(ctx: Context) -> dict:
    p = ctx.params
    flow = optional(p, "verification_flow")
    kind = optional(p, "type")
    if flow is not None and kind is not None:
        raise ApiError(400, "You may only specify one of these parameters: type, verification_flow.",
                       code="parameters_exclusive", param="type")
    customer = reference(ctx, "customer", "related_customer")
    session_id = new_id("vs")
    token = secrets.token_urlsafe(24).replace("-", "").replace("_", "")
    return create(
        ctx, SESSION, id=session_id, status="requires_input",
        type="verification_flow" if flow else (kind or "document"), verification_flow=flow,
        client_secret=f"{session_id}_secret_{token}", url=f"https://verify.stripe.com/start/test_{token}",
        options=_options(None, p.get("options")), provided_details=_provided_details(None, p.get("provided_details")),
        related_customer=customer["id"] if customer else None,
        related_customer_account=optional(p, "related_customer_account"),
        related_person=p.get("related_person") or None, client_reference_id=optional(p, "client_reference_id"),
        metadata=optional(p, "metadata") or {}, last_error=None, last_verification_report=None,
        redaction=None, verified_outputs=None,
    )


@handles("UpdateIdentityVerificationSession")
def update_session(ctx: Context) -> dict:
    session = fetch(ctx, SESSION)
    _check_not_redacted(session, "update")
    _check_requires_input(session, "update")
    p = ctx.params
    # Work out every new value first, so a refused update leaves the session untouched.
    changes: dict[str, Any] = {}
    kind = optional(p, "type")
    if kind is not None and kind != session["type"]:
        if session["type"] == "verification_flow":
            raise ApiError(400, "The type of a VerificationSession created from a verification flow cannot be "
                                "changed.", code="parameter_invalid", param="type")
        changes["type"] = kind
    if "options" in p:
        changes["options"] = _options(session["options"], p["options"])
    if "provided_details" in p:
        changes["provided_details"] = _provided_details(session["provided_details"], p["provided_details"])
    if "metadata" in p:
        changes["metadata"] = merge_metadata(session["metadata"], p["metadata"])
    session.update(changes)
    return session


@handles("CancelIdentityVerificationSession")
def cancel_session(ctx: Context) -> dict:
    session = fetch(ctx, SESSION)
    _check_not_redacted(session, "cancel")
    session.update(status=_check_requires_input(session, "cancel"), client_secret=None, url=None)
    return session


@handles("RedactIdentityVerificationSession")
def redact_session(ctx: Context) -> dict:
    session = fetch(ctx, SESSION)
    _check_not_redacted(session, "redact")
    status = require("identity.verification_session", "redact", session, "VerificationSession")  # rule identity.redact
    if status != session["status"]:
        session.update(status=status, client_secret=None, url=None)
    _redact_fields(session.get("provided_details"), ("email", "phone"))
    _redact_fields(session.get("verified_outputs"), SESSION_OUTPUT_FIELDS)
    session["metadata"] = {}
    session["redaction"] = {"status": "redacted"}
    for report in ctx.account.collection(REPORT).newest_first():
        if report.get("verification_session") == session["id"]:
            for check, names in REPORT_FIELDS.items():
                _redact_fields(report.get(check), names)
    return session


# -- test helper: complete the session ---------------------------------------------------------------------


def _report(ctx: Context, session: dict, person: dict) -> dict:
    """The verification report of a successful verification: the checks the session asked for, all verified."""
    document_options = (session.get("options") or {}).get("document") or {}
    kind = session["type"]
    checks: dict[str, Any] = {"document": None, "id_number": None, "selfie": None, "email": None, "phone": None}
    if kind in ("document", "verification_flow"):
        allowed = document_options.get("allowed_types") or ["driving_license"]
        checks["document"] = {
            "address": dict(person["address"]), "dob": dict(person["dob"]), "error": None,
            "expiration_date": {"day": 1, "month": 12, "year": 2031}, "files": [new_id("file"), new_id("file")],
            "first_name": person["first_name"], "issued_date": {"day": 1, "month": 12, "year": 2021},
            "issuing_country": "US", "last_name": person["last_name"], "number": "D1234567", "sex": None,
            "status": "verified", "type": allowed[0], "unparsed_place_of_birth": None, "unparsed_sex": None,
        }
        if document_options.get("require_matching_selfie"):
            checks["selfie"] = {"document": checks["document"]["files"][0], "error": None,
                                "selfie": new_id("file"), "status": "verified"}
    if kind == "id_number" or document_options.get("require_id_number"):
        checks["id_number"] = {"dob": dict(person["dob"]), "error": None, "first_name": person["first_name"],
                               "id_number": TEST_ID_NUMBER, "id_number_type": "us_ssn",
                               "last_name": person["last_name"], "status": "verified"}
    options = {"id_number": {}} if kind == "id_number" else {"document": dict(document_options)}
    return create(ctx, REPORT, type=kind, verification_session=session["id"],
                  verification_flow=session.get("verification_flow"),
                  client_reference_id=session.get("client_reference_id"), options=options, **checks)


@handles("TestHelperVerifyIdentityVerificationSession")
def verify_session(ctx: Context) -> dict:
    session = fetch(ctx, SESSION)
    _check_not_redacted(session, "verify")
    if session["status"] != "requires_input":
        raise bad_state(f"You cannot verify VerificationSession '{session['id']}' because it has status "
                        f"'{session['status']}'; only sessions with status 'requires_input' can be verified.")
    person = secrets.choice(PEOPLE)
    report = _report(ctx, session, person)
    details = session.get("provided_details") or {}
    has_id_number = report["id_number"] is not None
    session.update(
        status="verified", last_error=None, last_verification_report=report["id"], client_secret=None, url=None,
        verified_outputs={
            "address": dict(person["address"]), "dob": dict(person["dob"]), "email": details.get("email"),
            "first_name": person["first_name"], "id_number": TEST_ID_NUMBER if has_id_number else None,
            "id_number_type": "us_ssn" if has_id_number else None, "last_name": person["last_name"],
            "phone": details.get("phone"), "sex": None, "unparsed_place_of_birth": None, "unparsed_sex": None,
        },
    )
    return session


# -- reports -------------------------------------------------------------------------------------------------


