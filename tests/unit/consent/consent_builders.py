"""Builders for the consent engine's inputs, shared by the consent tests.

Each builder gives a value that decide() permits unless a test changes something: an agreement
in force between SENDER and RECIPIENT for risk.changed and direct care, a request that matches
it, and a complete override claim.
"""

from datetime import UTC, datetime, timedelta

from consent.model import (
    Agreement,
    AgreementParty,
    ConsentRecord,
    ConsentScope,
    DecisionRequest,
    LawfulBasis,
    OverrideClaim,
)
from consent.vocab import (
    AgreementStatus,
    Art6Basis,
    Art9Condition,
    ConfidentialityBasis,
    ConsentState,
    OverrideReason,
    PartyRole,
    Purpose,
    StatutoryGateway,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACTIVATED = NOW - timedelta(days=60)
SENDER, RECIPIENT, OTHER = "RX4", "LA001", "HOU01"
RISK, CRISIS = "risk.changed", "crisis.occurred"
EVERYTHING = ConsentScope()
S251B = StatutoryGateway.HSCA2012_S251B_DUTY_TO_SHARE

DIRECT_CARE_BASIS = LawfulBasis(
    Art6Basis.PUBLIC_TASK,
    Art9Condition.HEALTH_SOCIAL_CARE,
    ConfidentialityBasis.IMPLIED_CONSENT_INDIVIDUAL_CARE,
    dpa_sch1_para="2",
    statutory_gateways=(StatutoryGateway.CARE_ACT_S42_ENQUIRY,),
)
SAFEGUARDING_BASIS = LawfulBasis(
    Art6Basis.PUBLIC_TASK,
    Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST,
    ConfidentialityBasis.OVERRIDING_PUBLIC_INTEREST,
    dpa_sch1_para="18",
)


def agreement(**overrides: object) -> Agreement:
    values: dict[str, object] = {
        "id": "agr-1",
        "version": 1,
        "status": AgreementStatus.ACTIVE,
        "parties": (
            AgreementParty(SENDER, PartyRole.JOINT_CONTROLLER),
            AgreementParty(RECIPIENT, PartyRole.JOINT_CONTROLLER),
        ),
        "event_types": frozenset({RISK}),
        "purposes": frozenset({Purpose.DIRECT_CARE}),
        "lawful_basis": DIRECT_CARE_BASIS,
        "effective_from": NOW - timedelta(days=30),
        "activated_at": ACTIVATED,
    }
    values.update(overrides)
    return Agreement(**values)  # type: ignore[arg-type]


def safeguarding_agreement(
    basis: LawfulBasis = SAFEGUARDING_BASIS, **overrides: object
) -> Agreement:
    """An agreement for safeguarding and direct care whose basis can carry an override."""
    values: dict[str, object] = {
        "id": "agr-sg",
        "purposes": frozenset(Purpose),
        "lawful_basis": basis,
    }
    values.update(overrides)
    return agreement(**values)


def consent(
    state: ConsentState,
    at: datetime,
    scope: ConsentScope = EVERYTHING,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> ConsentRecord:
    return ConsentRecord(
        id=f"c-{state.value}-{at.isoformat()}",
        state=state,
        scope=scope,
        recorded_at=at,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def request(**overrides: object) -> DecisionRequest:
    values: dict[str, object] = {
        "sender": SENDER,
        "recipient": RECIPIENT,
        "event_type": RISK,
        "purpose": Purpose.DIRECT_CARE,
        "at": NOW,
    }
    values.update(overrides)
    return DecisionRequest(**values)  # type: ignore[arg-type]


def claim(
    reason: OverrideReason = OverrideReason.SAFEGUARDING_ADULT_AT_RISK,
    authorised_by: str = "Dr A Shah, Caldicott Guardian",
    justification: str = "Credible threat to a named person; seeking consent would raise the risk.",
) -> OverrideClaim:
    return OverrideClaim(reason, authorised_by, justification)


def basis(
    art6: Art6Basis = Art6Basis.PUBLIC_TASK,
    art9: Art9Condition = Art9Condition.HEALTH_SOCIAL_CARE,
    confidentiality: ConfidentialityBasis = ConfidentialityBasis.OVERRIDING_PUBLIC_INTEREST,
    para: str | None = None,
    gateways: tuple[StatutoryGateway, ...] = (),
) -> LawfulBasis:
    return LawfulBasis(art6, art9, confidentiality, para, gateways)


def refusal(at: datetime = NOW - timedelta(days=1)) -> ConsentRecord:
    return consent(ConsentState.REFUSED, at)
