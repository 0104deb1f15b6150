"""The engine's inputs and its answer: frozen values, no I/O."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from consent.vocab import (
    AgreementStatus,
    Art6Basis,
    Art9Condition,
    ConfidentialityBasis,
    ConsentState,
    DecisionOutcome,
    DenyReason,
    OverrideReason,
    PartyRole,
    Purpose,
    StatutoryGateway,
    Urgency,
)


@dataclass(frozen=True, slots=True)
class AgreementParty:
    agency: str
    role: PartyRole


@dataclass(frozen=True, slots=True)
class LawfulBasis:
    art6: Art6Basis
    art9: Art9Condition
    confidentiality: ConfidentialityBasis
    dpa_sch1_para: str | None = None
    statutory_gateways: tuple[StatutoryGateway, ...] = ()

    def codes(self) -> tuple[str, ...]:
        """Every basis relied on, as readable codes for decisions and audit."""
        codes = [f"art6:{self.art6.value}", f"art9:{self.art9.value}"]
        if self.dpa_sch1_para:
            codes.append(f"dpa_sch1:para_{self.dpa_sch1_para}")
        codes.append(f"confidentiality:{self.confidentiality.value}")
        codes.extend(f"gateway:{g.value}" for g in self.statutory_gateways)
        return tuple(codes)


@dataclass(frozen=True, slots=True)
class Agreement:
    id: str
    version: int
    status: AgreementStatus
    parties: tuple[AgreementParty, ...]
    event_types: frozenset[str]
    purposes: frozenset[Purpose]
    lawful_basis: LawfulBasis
    effective_from: datetime
    effective_to: datetime | None = None
    data_items: Mapping[str, tuple[str, ...]] | None = field(default=None, hash=False)
    # When every party had approved (None: still a draft), and when it stopped being in force
    # (suspended, terminated or superseded; None: not stopped). Kept as instants rather than
    # read from `status` so that a decision can be made for any moment, not just "now".
    activated_at: datetime | None = None
    ended_at: datetime | None = None

    def names_parties(self, a: str, b: str) -> bool:
        agencies = {party.agency for party in self.parties}
        return a in agencies and b in agencies

    def in_force_at(self, at: datetime) -> bool:
        approved = self.activated_at is not None and self.activated_at <= at
        not_stopped = self.ended_at is None or at < self.ended_at
        started = self.effective_from <= at
        not_ended = self.effective_to is None or at < self.effective_to
        return approved and not_stopped and started and not_ended


@dataclass(frozen=True, slots=True)
class ConsentScope:
    """Empty sets mean "all"."""

    recipients: frozenset[str] = frozenset()
    event_types: frozenset[str] = frozenset()
    purposes: frozenset[Purpose] = frozenset()

    def covers(self, recipient: str, event_type: str, purpose: Purpose) -> bool:
        return (
            (not self.recipients or recipient in self.recipients)
            and (not self.event_types or event_type in self.event_types)
            and (not self.purposes or purpose in self.purposes)
        )


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    id: str
    state: ConsentState
    scope: ConsentScope
    recorded_at: datetime
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    # The agency that recorded the position, and the records of other agencies it explicitly
    # sets aside: what lets one agency's record lift another's refusal (consent.decide).
    recording_agency: str | None = None
    supersedes: frozenset[str] = frozenset()

    def valid_at(self, at: datetime) -> bool:
        started = self.valid_from is None or self.valid_from <= at
        return started and (self.valid_to is None or at < self.valid_to)


@dataclass(frozen=True, slots=True)
class OverrideClaim:
    """The sender's claim that significant risk overrides the person's refusal."""

    reason: OverrideReason
    authorised_by: str
    justification: str


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    sender: str
    recipient: str
    event_type: str
    purpose: Purpose
    at: datetime  # the moment of routing
    urgency: Urgency = Urgency.ROUTINE
    override: OverrideClaim | None = None
    # The field paths present in the payload (see consent.redact.field_paths); None where the
    # payload is not known, as in a preview.
    payload_paths: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Obligations:
    """What the recipient may see: the agreement's data items and what they remove."""

    allowed_items: tuple[str, ...] | None = None  # None: the agreement allows every item
    redact: tuple[str, ...] = ()  # field paths removed from this payload

    def to_dict(self) -> dict[str, object]:
        allowed = list(self.allowed_items) if self.allowed_items is not None else None
        return {"allowed_items": allowed, "redact": list(self.redact)}

    @classmethod
    def from_dict(cls, value: object) -> "Obligations":
        if not isinstance(value, Mapping):
            return cls()
        allowed = value.get("allowed_items")
        return cls(
            allowed_items=_strings(allowed) if allowed is not None else None,
            redact=_strings(value.get("redact")),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: DecisionOutcome
    reason: DenyReason | None
    agreement_id: str | None
    agreement_version: int | None
    bases: tuple[str, ...]
    consent_record_ids: tuple[str, ...]
    explanation: str
    obligations: Obligations = Obligations()
    override_reason: OverrideReason | None = None

    @property
    def permitted(self) -> bool:
        return self.outcome is not DecisionOutcome.DENY

    def to_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "reason": self.reason.value if self.reason else None,
            "agreement_id": self.agreement_id,
            "agreement_version": self.agreement_version,
            "bases": list(self.bases),
            "consent_record_ids": list(self.consent_record_ids),
            "explanation": self.explanation,
            "obligations": self.obligations.to_dict(),
            "override_reason": self.override_reason.value if self.override_reason else None,
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, object]) -> "Decision":
        reason = value.get("reason")
        version = value.get("agreement_version")
        agreement_id = value.get("agreement_id")
        override_reason = value.get("override_reason")
        return cls(
            outcome=DecisionOutcome(str(value["outcome"])),
            reason=DenyReason(str(reason)) if reason else None,
            agreement_id=str(agreement_id) if agreement_id is not None else None,
            agreement_version=int(str(version)) if version is not None else None,
            bases=_strings(value.get("bases")),
            consent_record_ids=_strings(value.get("consent_record_ids")),
            explanation=str(value["explanation"]),
            obligations=Obligations.from_dict(value.get("obligations")),
            override_reason=OverrideReason(str(override_reason)) if override_reason else None,
        )


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value)
