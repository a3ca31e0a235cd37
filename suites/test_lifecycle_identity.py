"""Identity verification sessions and reports as a state machine with a model.

What cancel, redact and update accept, and the status they leave, come from the rules table
(`contracts/rules.yaml`, rows `identity.*`), the rows the mock enforces: created requires_input; cancel only from
requires_input (final); redact from requires_input (which also cancels) or verified; after redaction personal
fields read [redacted], metadata is empty and nothing else is accepted; verifying (test helper) creates a
verification report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, precondition, rule

from contracts.rules import Decision, load_rules
from harness.checks import label_test
from suites.machines import ApiMachine, Read, expect, read_back, run_machine

RULES = load_rules()

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # ApiMachine's (api, contract, world, rule_gate)
        super().__init__(*args, **kwargs)
        self.model: dict[str, SessionModel] = {}
        self.can_verify = True  # until the target answers that it has no verify test helper

    @staticmethod
    def _personal(s: SessionModel) -> dict | None:
        """The params that read a session back: verified_outputs is includable (Stripe sends it only when expanded)."""
        return {"expand": ["verified_outputs", "provided_details"]} if s.redacted else None

    def _verifiable(self) -> bool:  # a precondition: a method, not a lambda Hypothesis would parse the source of
        return self.can_verify

    def _read(self, s: SessionModel) -> tuple[str, dict[str, str]]:
        return "RetrieveIdentityVerificationSession", {"session": s.id}

    def _decide(self, s: SessionModel, action: str) -> Decision | None:
        """The table's answer (a redacted session accepts nothing: rule identity.redacted), or None when this run
        may not assert it."""
        if s.redacted:
            return self.asserts(Decision(None, (RULES["identity.redacted"],)))
        return self.asserts(RULES.decide("identity.verification_session", action, s.status))

    @rule(target=sessions, value=metadata_values)
    def create(self, value: str) -> SessionModel:
        body = self.ok("CreateIdentityVerificationSession", params={"type": "document", "metadata": {"k": value}})
        s = SessionModel(body["id"], metadata={"k": value})
        self.model[s.id] = s
        return s

    @rule(s=sessions, value=metadata_values)
    def update(self, s: SessionModel, value: str) -> None:
        params = {"metadata": {"k": value}}
        decision = self._decide(s, "update")
        if decision is None:
            return
        if not decision.legal:
            self.refused("UpdateIdentityVerificationSession", {"session": s.id}, params, read=self._read(s),
                         what=f"updating a {'redacted' if s.redacted else s.status} session is refused")
            return
        self.ok("UpdateIdentityVerificationSession", {"session": s.id}, params)
        s.metadata["k"] = value

    @rule(s=sessions)
    def cancel(self, s: SessionModel) -> None:
        decision = self._decide(s, "cancel")
        if decision is None:
            return
        if not decision.legal:
            self.refused("CancelIdentityVerificationSession", {"session": s.id}, read=self._read(s),
                         what=f"cancelling a {s.status} session is refused")
            return
        body = self.ok("CancelIdentityVerificationSession", {"session": s.id})
        s.status = decision.result or s.status
        expect(body["status"] == s.status, "cancel", f"cancel gives {s.status}", body["status"])

    @rule(s=sessions)
    def redact(self, s: SessionModel) -> None:
        decision = self._decide(s, "redact")
        if decision is None:
            return
        if not decision.legal:
            self.refused("RedactIdentityVerificationSession", {"session": s.id}, read=self._read(s),
                         what=f"redacting a {'redacted' if s.redacted else s.status} session is refused")
            return
        self.ok("RedactIdentityVerificationSession", {"session": s.id})
        s.redacted = True
        s.metadata = {}
        s.status = decision.result or s.status

    @precondition(_verifiable)
    @rule(s=sessions)
    def verify(self, s: SessionModel) -> None:
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

    def read_backs(self) -> list[Read]:
        return [read for s in self.model.values() for read in (
            ("RetrieveIdentityVerificationSession", {"session": s.id}, self._personal(s)),
            *([("ListIdentityVerificationReports", None, {"verification_session": s.id})] if s.reports else []))]

    @invariant()
    @read_back
    def server_matches_model(self) -> None:
        self.read_ahead(self.read_backs())
        for s in self.model.values():
            body = self.ok("RetrieveIdentityVerificationSession", {"session": s.id}, self._personal(s))
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


def test_identity_session_lifecycle_matches_the_model(api, contract, world, profile, rules, machine_threads):
    label_test(contract["CancelIdentityVerificationSession"], "lifecycle", severity="critical",
               title="Identity: every sequence of actions keeps the sessions equal to the model")
    run_machine(IdentityLifecycle, api, contract, world, rules, profile=profile, threads=machine_threads)
