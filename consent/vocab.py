"""Legal vocabularies (docs/governance.md) and the engine's own: agreement statuses and deny
reasons."""

from collections.abc import Mapping
from enum import StrEnum

from schemas.vocabulary import (
    Art6Basis,
    Art9Condition,
    ConfidentialityBasis,
    ConsentState,
    DecisionOutcome,
    OverrideReason,
    PartyRole,
    Purpose,
    PurposeOfUse,
    StatutoryGateway,
    Urgency,
)

__all__ = [
    "PURPOSE_OF_USE",
    "REFUSING_STATES",
    "AgreementStatus",
    "Art6Basis",
    "Art9Condition",
    "ConfidentialityBasis",
    "ConsentState",
    "DecisionOutcome",
    "DenyReason",
    "OverrideReason",
    "PartyRole",
    "Purpose",
    "PurposeOfUse",
    "StatutoryGateway",
    "Urgency",
    "purpose_of_use",
]


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # every party has approved; its effective period has not begun
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


class DenyReason(StrEnum):
    NO_AGREEMENT = "no_agreement"
    AGREEMENT_NOT_IN_FORCE = "agreement_not_in_force"
    EVENT_TYPE_NOT_COVERED = "event_type_not_covered"
    PURPOSE_NOT_COVERED = "purpose_not_covered"
    CONSENT_REFUSED = "consent_refused"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OBJECTION_RECORDED = "objection_recorded"


PURPOSE_OF_USE: Mapping[Purpose, PurposeOfUse] = {
    Purpose.DIRECT_CARE: PurposeOfUse.TREAT,
    Purpose.SAFEGUARDING: PurposeOfUse.COC,
}

REFUSING_STATES = frozenset(
    {ConsentState.REFUSED, ConsentState.WITHDRAWN, ConsentState.OBJECTION_RECORDED}
)

REFUSAL_REASON: Mapping[ConsentState, DenyReason] = {
    ConsentState.REFUSED: DenyReason.CONSENT_REFUSED,
    ConsentState.WITHDRAWN: DenyReason.CONSENT_WITHDRAWN,
    ConsentState.OBJECTION_RECORDED: DenyReason.OBJECTION_RECORDED,
}


def purpose_of_use(purpose: Purpose, urgency_is_emergency: bool) -> PurposeOfUse:
    if purpose is Purpose.DIRECT_CARE and urgency_is_emergency:
        return PurposeOfUse.ETREAT
    return PURPOSE_OF_USE[purpose]
