"""Identity verification sessions and reports (DESIGN §5) as a state machine with a model.

created requires_input; cancel only from requires_input (final); redact from requires_input or verified
(redacting a session that still requires input also cancels it, as Stripe documents); after redaction personal
fields read [redacted], metadata is empty and updates are refused; updates only while requires_input;
verifying (test helper) creates a verification report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, rule, run_state_machine_as_test

from suites.checks import label_test
from suites.machines import ApiMachine, expect

pytestmark = pytest.mark.lifecycle

metadata_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@dataclass
class SessionModel:
    id: str
    status: str = "requires_input"
    redacted: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)


class IdentityLifecycle(ApiMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, SessionModel] = {}
        self.can_verify = True

    def _read(self, s: SessionModel) -> tuple[str, dict[str, str]]:
        return "RetrieveIdentityVerificationSession", {"session": s.id}

    @rule(target=sessions, value=metadata_values)
    def create(self, value: str) -> SessionModel:
        body = self.ok("CreateIdentityVerificationSession", params={"type": "document", "metadata": {"k": value}})
        s = SessionModel(body["id"], metadata={"k": value})
        self.model[s.id] = s
        return s

    @rule(s=sessions, value=metadata_values)
    def update(self, s: SessionModel, value: str) -> None:
        params = {"metadata": {"k": value}}
        if s.status != "requires_input" or s.redacted:
            self.refused("UpdateIdentityVerificationSession", {"session": s.id}, params, read=self._read(s),
                         what=f"updating a {'redacted' if s.redacted else s.status} session is refused")
            return
        self.ok("UpdateIdentityVerificationSession", {"session": s.id}, params)
        s.metadata["k"] = value

    @rule(s=sessions)
    def cancel(self, s: SessionModel) -> None:
        if s.status != "requires_input" or s.redacted:
            self.refused("CancelIdentityVerificationSession", {"session": s.id}, read=self._read(s),
                         what=f"cancelling a {s.status} session is refused")
            return
        body = self.ok("CancelIdentityVerificationSession", {"session": s.id})
        s.status = "canceled"
        expect(body["status"] == "canceled", "cancel", "cancel gives canceled", body["status"])

    @rule(s=sessions)
    def redact(self, s: SessionModel) -> None:
        if s.redacted or s.status not in ("requires_input", "verified"):
            self.refused("RedactIdentityVerificationSession", {"session": s.id}, read=self._read(s),
                         what=f"redacting a {'redacted' if s.redacted else s.status} session is refused")
            return
        self.ok("RedactIdentityVerificationSession", {"session": s.id})
        s.redacted = True
        s.metadata = {}
        if s.status == "requires_input":
            s.status = "canceled"

    @rule(s=sessions)
    def verify(self, s: SessionModel) -> None:
        if not self.can_verify:
            return
        resp = self.send("TestHelperVerifyIdentityVerificationSession", {"session": s.id})
        if resp.status == 404 and "Unrecognized" in str(resp.body):
            self.can_verify = False  # no test helper on this target: the machine runs without verification
            return
        if s.status != "requires_input" or s.redacted:
            expect(resp.status == 400, "verify (test helper)", "only a session requiring input can be verified",
                   f"got {resp.status}", resp)
            return
        expect(resp.status == 200, "verify (test helper)", "a session requiring input can be verified",
               f"got {resp.status}", resp)
        s.status = "verified"
        report = resp.json["last_verification_report"]
        s.reports.append(report["id"] if isinstance(report, dict) else report)

    @invariant()
    def server_matches_model(self) -> None:
        for s in self.model.values():
            # verified_outputs is includable: Stripe sends it only when expanded
            personal = {"expand": ["verified_outputs", "provided_details"]} if s.redacted else None
            body = self.ok("RetrieveIdentityVerificationSession", {"session": s.id}, personal)
            label = f"verification session {s.id}"
            expect(body["status"] == s.status, label, "the status follows the lifecycle",
                   f"server {body['status']!r}, model {s.status!r}")
            expect(body["metadata"] == s.metadata, label, "metadata follows updates (and is empty once redacted)",
                   f"server {body['metadata']}, model {s.metadata}")
            redaction = (body.get("redaction") or {}).get("status")
            expect((redaction is not None) == s.redacted, label, "redaction is reported exactly after redact",
                   f"redaction {body.get('redaction')}")
            if s.redacted:
                outputs, details = body.get("verified_outputs") or {}, body.get("provided_details") or {}
                names = [outputs.get("first_name"), outputs.get("last_name"), details.get("email")]
                expect(all(n in (None, "[redacted]") for n in names), label,
                       "personal fields read [redacted] after redaction", f"personal fields {names}")
            if s.reports:
                last = body["last_verification_report"]
                last_id = last["id"] if isinstance(last, dict) else last
                expect(last_id == s.reports[-1], label, "verifying records the report on the session",
                       f"last_verification_report {last_id}, expected {s.reports[-1]}")
                listed = self.ok("ListIdentityVerificationReports", params={"verification_session": s.id})["data"]
                expect({r["id"] for r in listed} == set(s.reports), label,
                       "the session's reports are listed by verification_session",
                       f"listed {[r['id'] for r in listed]}, model {s.reports}")


def test_identity_session_lifecycle_matches_the_model(api, contract, world, profile):
    label_test(contract["CancelIdentityVerificationSession"], "lifecycle", severity="critical",
               title="Identity: every sequence of actions keeps the sessions equal to the model")
    run_state_machine_as_test(IdentityLifecycle.bind(api, contract, world),
                              settings=settings(max_examples=profile.machines, stateful_step_count=profile.steps))
