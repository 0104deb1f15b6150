"""Overrides: when significant risk lets information go against the person's refusal."""

from datetime import timedelta

import pytest
from consent_builders import (
    NOW,
    OTHER,
    RECIPIENT,
    S251B,
    SAFEGUARDING_BASIS,
    SENDER,
    agreement,
    basis,
    claim,
    consent,
    refusal,
    request,
    safeguarding_agreement,
)

from consent.decide import decide
from consent.model import AgreementParty, ConsentScope, LawfulBasis
from consent.override import requirements_described, supports_override
from consent.vocab import (
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

OPI = ConfidentialityBasis.OVERRIDING_PUBLIC_INTEREST
LEGAL = ConfidentialityBasis.LEGAL_REQUIREMENT
IMPLIED = ConfidentialityBasis.IMPLIED_CONSENT_INDIVIDUAL_CARE
SPI = Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST
S42 = StatutoryGateway.CARE_ACT_S42_ENQUIRY
S45 = StatutoryGateway.CARE_ACT_S45_SAB_REQUEST

SAFEGUARDING_WITH_CLAIM = request(purpose=Purpose.SAFEGUARDING, override=claim())


def _override(
    reason: OverrideReason, lawful_basis: LawfulBasis, **request_fields: object
) -> tuple[DecisionOutcome, str]:
    fields: dict[str, object] = {"purpose": Purpose.SAFEGUARDING, "override": claim(reason)}
    fields.update(request_fields)
    decision = decide(request(**fields), [safeguarding_agreement(lawful_basis)], [refusal()])
    return decision.outcome, decision.explanation


# When an override may be used at all --------------------------------------------------------


def test_override_for_routine_direct_care_is_refused_and_says_why() -> None:
    routine = request(override=claim(), urgency=Urgency.ROUTINE)

    decision = decide(routine, [safeguarding_agreement()], [refusal()])

    assert decision.outcome is DecisionOutcome.DENY
    assert decision.reason is DenyReason.CONSENT_REFUSED
    assert decision.explanation.endswith(
        "The override could not be used: an override applies only to safeguarding or an "
        "emergency, and this is routine direct care."
    )


def test_override_for_urgent_direct_care_is_still_refused() -> None:
    urgent = request(override=claim(), urgency=Urgency.URGENT)

    assert decide(urgent, [safeguarding_agreement()], [refusal()]).outcome is DecisionOutcome.DENY


def test_override_in_an_emergency_of_direct_care_is_used() -> None:
    emergency = request(override=claim(), urgency=Urgency.EMERGENCY)

    decision = decide(emergency, [safeguarding_agreement()], [refusal()])

    assert decision.outcome is DecisionOutcome.PERMIT_OVERRIDE


def test_override_for_routine_safeguarding_is_used() -> None:
    routine_safeguarding = request(purpose=Purpose.SAFEGUARDING, override=claim())

    decision = decide(routine_safeguarding, [safeguarding_agreement()], [refusal()])

    assert decision.outcome is DecisionOutcome.PERMIT_OVERRIDE


@pytest.mark.parametrize(
    ("authorised_by", "justification", "lacking"),
    [
        ("", "Risk to life.", "the name of who authorised it"),
        ("Dr A Shah", "  \n", "a justification"),
        (" ", "", "the name of who authorised it and a justification"),
    ],
)
def test_override_without_an_authoriser_or_justification_is_refused(
    authorised_by: str, justification: str, lacking: str
) -> None:
    incomplete = claim(authorised_by=authorised_by, justification=justification)

    decision = decide(
        request(purpose=Purpose.SAFEGUARDING, override=incomplete),
        [safeguarding_agreement()],
        [refusal()],
    )

    assert decision.outcome is DecisionOutcome.DENY
    assert decision.explanation.endswith(f"The override could not be used: it lacks {lacking}.")


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (ConsentState.REFUSED, DenyReason.CONSENT_REFUSED),
        (ConsentState.WITHDRAWN, DenyReason.CONSENT_WITHDRAWN),
        (ConsentState.OBJECTION_RECORDED, DenyReason.OBJECTION_RECORDED),
    ],
)
def test_refused_override_keeps_the_refusal_reason(state: ConsentState, reason: DenyReason) -> None:
    record = consent(state, NOW - timedelta(days=1))

    decision = decide(request(override=claim()), [safeguarding_agreement()], [record])

    assert decision.reason is reason
    assert decision.override_reason is None
    assert decision.bases == ()


def test_override_cannot_make_up_for_a_missing_agreement() -> None:
    decision = decide(SAFEGUARDING_WITH_CLAIM, [safeguarding_agreement(ended_at=NOW)], [refusal()])

    assert decision.reason is DenyReason.AGREEMENT_NOT_IN_FORCE


def test_override_without_a_refusal_is_not_needed_and_the_permit_is_plain() -> None:
    decision = decide(SAFEGUARDING_WITH_CLAIM, [safeguarding_agreement()], [])

    assert decision.outcome is DecisionOutcome.PERMIT
    assert decision.override_reason is None
    assert not any(code.startswith("override:") for code in decision.bases)
    assert decision.explanation.endswith("No refusal applies, so the override was not needed.")


# What a used override records ---------------------------------------------------------------


def test_used_override_cites_reason_bases_agreement_and_records() -> None:
    refused = refusal()
    given_elsewhere = consent(
        ConsentState.GIVEN_EXPLICIT,
        NOW - timedelta(days=3),
        ConsentScope(recipients=frozenset({RECIPIENT, OTHER})),
    )

    decision = decide(
        SAFEGUARDING_WITH_CLAIM, [safeguarding_agreement()], [refused, given_elsewhere]
    )

    assert decision.outcome is DecisionOutcome.PERMIT_OVERRIDE
    assert decision.reason is None
    assert decision.override_reason is OverrideReason.SAFEGUARDING_ADULT_AT_RISK
    assert (decision.agreement_id, decision.agreement_version) == ("agr-sg", 1)
    assert decision.consent_record_ids == (given_elsewhere.id, refused.id)
    assert decision.bases == (
        "art6:public_task",
        "art9:substantial_public_interest",
        "dpa_sch1:para_18",
        "confidentiality:overriding_public_interest",
        "override:safeguarding_adult_at_risk",
    )


def test_used_override_is_explained_with_its_authoriser_and_the_refusal_it_overrides() -> None:
    refused = refusal()

    decision = decide(SAFEGUARDING_WITH_CLAIM, [safeguarding_agreement()], [refused])

    assert decision.explanation.startswith("Permitted by override under agreement agr-sg v1:")
    assert f"although the subject refused consent on {refused.recorded_at.date()}" in (
        decision.explanation
    )
    assert refused.id in decision.explanation
    assert "authorised by Dr A Shah, Caldicott Guardian" in decision.explanation
    assert "overriding public interest for confidentiality" in decision.explanation
    assert "DPA 2018 Sch 1 para 18" in decision.explanation
    assert "information governance review" in decision.explanation


def test_used_override_carries_the_data_minimisation_obligations() -> None:
    minimal = safeguarding_agreement(data_items={"risk.changed": ("current_level",)})
    with_payload = request(
        purpose=Purpose.SAFEGUARDING,
        override=claim(),
        payload_paths=frozenset({"current_level", "rationale"}),
    )

    decision = decide(with_payload, [minimal], [refusal()])

    assert decision.obligations.allowed_items == ("current_level",)
    assert decision.obligations.redact == ("rationale",)


def test_override_uses_the_agreement_whose_basis_fits_over_a_newer_one_that_does_not() -> None:
    fitting = safeguarding_agreement(id="agr-fits", effective_from=NOW - timedelta(days=90))
    newer_direct_care_only = agreement(id="agr-newer", purposes=frozenset(Purpose))

    decision = decide(SAFEGUARDING_WITH_CLAIM, [newer_direct_care_only, fitting], [refusal()])

    assert decision.outcome is DecisionOutcome.PERMIT_OVERRIDE
    assert decision.agreement_id == "agr-fits"


def test_refused_override_cites_the_agreement_a_plain_refusal_would() -> None:
    direct_care_only = agreement(id="agr-dc", purposes=frozenset(Purpose))

    decision = decide(SAFEGUARDING_WITH_CLAIM, [direct_care_only], [refusal()])

    assert decision.outcome is DecisionOutcome.DENY
    assert decision.agreement_id == "agr-dc"


def test_override_under_a_direct_care_agreement_is_refused_as_resting_on_consent() -> None:
    direct_care = agreement(id="agr-dc", purposes=frozenset(Purpose))

    decision = decide(SAFEGUARDING_WITH_CLAIM, [direct_care], [refusal()])

    assert decision.explanation.endswith(
        "The override could not be used: every agreement in force between RX4 and LA001 "
        "covering risk.changed events sets confidentiality aside only with the subject's "
        "consent, which the refusal removes."
    )


def test_override_basis_must_come_from_an_agreement_covering_the_request() -> None:
    fits_but_other_recipient = safeguarding_agreement(
        id="agr-other",
        parties=(
            AgreementParty(SENDER, PartyRole.CONTROLLER),
            AgreementParty(OTHER, PartyRole.CONTROLLER),
        ),
    )
    covering_without_fit = agreement(id="agr-dc", purposes=frozenset(Purpose))

    decision = decide(
        SAFEGUARDING_WITH_CLAIM, [fits_but_other_recipient, covering_without_fit], [refusal()]
    )

    assert decision.outcome is DecisionOutcome.DENY


# The matching table, reason by reason -------------------------------------------------------

MATCHING = [
    (OverrideReason.SAFEGUARDING_ADULT_AT_RISK, basis(art9=SPI, para="18")),
    (OverrideReason.SAFEGUARDING_ADULT_AT_RISK, basis(gateways=(S42,))),
    (OverrideReason.SAFEGUARDING_ADULT_AT_RISK, basis(confidentiality=LEGAL, gateways=(S42,))),
    (OverrideReason.SAFEGUARDING_CHILD, basis(art9=SPI, para="18")),
    (OverrideReason.SAFEGUARDING_CHILD, basis(confidentiality=LEGAL, art9=SPI, para="18")),
    (OverrideReason.VITAL_INTERESTS, basis(art9=Art9Condition.VITAL_INTERESTS)),
    (OverrideReason.VITAL_INTERESTS, basis(art6=Art6Basis.VITAL_INTERESTS)),
    (OverrideReason.SERIOUS_HARM_PUBLIC_INTEREST, basis(art9=SPI)),
    (OverrideReason.SERIOUS_HARM_PUBLIC_INTEREST, basis(art9=SPI, para="10")),
    (OverrideReason.LEGAL_DUTY, basis(confidentiality=LEGAL)),
    (OverrideReason.LEGAL_DUTY, basis(art6=Art6Basis.LEGAL_OBLIGATION)),
    (OverrideReason.LEGAL_DUTY, basis(gateways=(S42,))),
    (OverrideReason.LEGAL_DUTY, basis(gateways=(S251B, S45))),
]

NOT_MATCHING = [
    # Para 18 is the safeguarding condition; another Sch 1 paragraph is not.
    (OverrideReason.SAFEGUARDING_ADULT_AT_RISK, basis(art9=SPI, para="10")),
    (OverrideReason.SAFEGUARDING_ADULT_AT_RISK, basis(gateways=(S45,))),
    # The para 18 paragraph number alone, under another Art 9 condition, is not enough.
    (OverrideReason.SAFEGUARDING_ADULT_AT_RISK, basis(para="18")),
    # A s42 enquiry is about adults, so it does not carry a child's safeguarding.
    (OverrideReason.SAFEGUARDING_CHILD, basis(gateways=(S42,))),
    (OverrideReason.VITAL_INTERESTS, basis(art9=SPI, para="18")),
    (OverrideReason.SERIOUS_HARM_PUBLIC_INTEREST, basis(confidentiality=LEGAL, art9=SPI)),
    (OverrideReason.SERIOUS_HARM_PUBLIC_INTEREST, basis(art6=Art6Basis.VITAL_INTERESTS)),
    (OverrideReason.LEGAL_DUTY, basis(art9=SPI, para="18")),
    # The duty to share for individual care is disapplied on objection: never an override.
    (OverrideReason.LEGAL_DUTY, basis(gateways=(S251B,))),
]


@pytest.mark.parametrize(("reason", "lawful_basis"), MATCHING)
def test_override_is_used_when_the_agreement_basis_fits_the_reason(
    reason: OverrideReason, lawful_basis: LawfulBasis
) -> None:
    outcome, _ = _override(reason, lawful_basis)

    assert outcome is DecisionOutcome.PERMIT_OVERRIDE


@pytest.mark.parametrize(("reason", "lawful_basis"), NOT_MATCHING)
def test_override_is_refused_when_the_agreement_basis_does_not_fit_the_reason(
    reason: OverrideReason, lawful_basis: LawfulBasis
) -> None:
    outcome, explanation = _override(reason, lawful_basis)

    assert outcome is DecisionOutcome.DENY
    assert (
        f"The override could not be used: no agreement in force between {SENDER} and "
        f"{RECIPIENT} covering risk.changed events rests on a lawful basis for "
        f"{reason.value.replace('_', ' ')}, which needs {requirements_described(reason)}."
    ) in explanation


@pytest.mark.parametrize(("reason", "lawful_basis"), MATCHING)
def test_no_override_rests_on_implied_or_explicit_consent_for_confidentiality(
    reason: OverrideReason, lawful_basis: LawfulBasis
) -> None:
    for consent_based in (IMPLIED, ConfidentialityBasis.EXPLICIT_CONSENT):
        resting_on_consent = LawfulBasis(
            lawful_basis.art6,
            lawful_basis.art9,
            consent_based,
            lawful_basis.dpa_sch1_para,
            lawful_basis.statutory_gateways,
        )

        assert not supports_override(reason, resting_on_consent)


def test_s251b_is_never_cited_for_a_used_override() -> None:
    with_s251b = basis(art9=SPI, para="18", gateways=(S251B, S42))

    decision = decide(SAFEGUARDING_WITH_CLAIM, [safeguarding_agreement(with_s251b)], [refusal()])

    assert decision.outcome is DecisionOutcome.PERMIT_OVERRIDE
    assert f"gateway:{S251B.value}" not in decision.bases
    assert "gateway:care_act_s42_enquiry" in decision.bases


def test_requirements_are_described_in_words_for_the_explanation() -> None:
    described = requirements_described(OverrideReason.SAFEGUARDING_ADULT_AT_RISK)

    assert described == (
        "a confidentiality basis of legal requirement or overriding public interest, and "
        "one of: Art 9 substantial public interest with DPA 2018 Sch 1 para 18; "
        "statutory gateway care act s42 enquiry"
    )


def test_every_override_reason_has_at_least_one_way_to_be_met() -> None:
    fitting = {reason for reason, _ in MATCHING}

    assert fitting == set(OverrideReason)
    assert supports_override(OverrideReason.SAFEGUARDING_CHILD, SAFEGUARDING_BASIS)
