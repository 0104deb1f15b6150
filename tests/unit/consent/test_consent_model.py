"""The engine's values: purpose-of-use codes, consent scopes and periods, stored decisions."""

import json
from datetime import UTC, datetime, timedelta

import pytest

import schemas.vocabulary as wire
from consent.model import (
    Agreement,
    AgreementParty,
    ConsentRecord,
    ConsentScope,
    Decision,
    LawfulBasis,
    Obligations,
)
from consent.vocab import (
    REFUSING_STATES,
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
    PurposeOfUse,
    purpose_of_use,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("purpose", "emergency", "code"),
    [
        (Purpose.DIRECT_CARE, False, PurposeOfUse.TREAT),
        (Purpose.DIRECT_CARE, True, PurposeOfUse.ETREAT),
        (Purpose.SAFEGUARDING, False, PurposeOfUse.COC),
        (Purpose.SAFEGUARDING, True, PurposeOfUse.COC),
    ],
)
def test_purpose_of_use_follows_hl7_act_reason(
    purpose: Purpose, emergency: bool, code: PurposeOfUse
) -> None:
    assert purpose_of_use(purpose, urgency_is_emergency=emergency) is code


def test_engine_speaks_the_wire_vocabulary() -> None:
    assert Purpose.DIRECT_CARE is wire.Purpose.DIRECT_CARE
    assert ConsentState.WITHDRAWN is wire.ConsentState.WITHDRAWN


def test_only_refusal_withdrawal_and_objection_are_refusing() -> None:
    assert {ConsentState.REFUSED, ConsentState.WITHDRAWN, ConsentState.OBJECTION_RECORDED} == (
        REFUSING_STATES
    )


def test_empty_scope_covers_everything() -> None:
    assert ConsentScope().covers("LA001", "risk.changed", Purpose.SAFEGUARDING)


@pytest.mark.parametrize(
    "scope",
    [
        ConsentScope(recipients=frozenset({"HOU01"})),
        ConsentScope(event_types=frozenset({"crisis.occurred"})),
        ConsentScope(purposes=frozenset({Purpose.DIRECT_CARE})),
    ],
)
def test_each_named_dimension_narrows_the_scope(scope: ConsentScope) -> None:
    assert not scope.covers("LA001", "risk.changed", Purpose.SAFEGUARDING)


def test_consent_period_includes_its_start_and_excludes_its_end() -> None:
    record = ConsentRecord(
        "c-1",
        ConsentState.REFUSED,
        ConsentScope(),
        NOW,
        valid_from=NOW,
        valid_to=NOW + timedelta(days=1),
    )

    assert not record.valid_at(NOW - timedelta(microseconds=1))
    assert record.valid_at(NOW)
    assert record.valid_at(NOW + timedelta(days=1) - timedelta(microseconds=1))
    assert not record.valid_at(NOW + timedelta(days=1))


def test_agreement_must_name_both_agencies() -> None:
    agreement = Agreement(
        id="agr-1",
        version=1,
        status=AgreementStatus.ACTIVE,
        parties=(AgreementParty("RX4", PartyRole.CONTROLLER),),
        event_types=frozenset({"risk.changed"}),
        purposes=frozenset({Purpose.DIRECT_CARE}),
        lawful_basis=LawfulBasis(
            Art6Basis.PUBLIC_TASK,
            Art9Condition.HEALTH_SOCIAL_CARE,
            ConfidentialityBasis.IMPLIED_CONSENT_INDIVIDUAL_CARE,
        ),
        effective_from=NOW,
        activated_at=NOW,
    )

    assert not agreement.names_parties("RX4", "LA001")
    assert agreement.in_force_at(NOW + timedelta(days=3650))


def test_bases_omit_the_schedule_paragraph_and_gateways_when_not_relied_on() -> None:
    basis = LawfulBasis(
        Art6Basis.LEGAL_OBLIGATION,
        Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST,
        ConfidentialityBasis.LEGAL_REQUIREMENT,
    )

    assert basis.codes() == (
        "art6:legal_obligation",
        "art9:substantial_public_interest",
        "confidentiality:legal_requirement",
    )


def test_override_counts_as_permitted() -> None:
    override = Decision(DecisionOutcome.PERMIT_OVERRIDE, None, "agr-1", 1, (), (), "Shared.")
    assert override.permitted


def test_stored_decision_is_plain_json_and_reads_back_the_same() -> None:
    decision = Decision(
        outcome=DecisionOutcome.DENY,
        reason=DenyReason.OBJECTION_RECORDED,
        agreement_id="agr-1",
        agreement_version=3,
        bases=(),
        consent_record_ids=("c-1", "c-2"),
        explanation="Withheld: the subject objected to sharing.",
    )

    stored = json.loads(json.dumps(decision.to_dict()))

    assert stored["outcome"] == "deny"
    assert stored["reason"] == "objection_recorded"
    assert stored["consent_record_ids"] == ["c-1", "c-2"]
    assert Decision.from_dict(stored) == decision


def test_stored_override_keeps_its_reason_and_obligations() -> None:
    decision = Decision(
        outcome=DecisionOutcome.PERMIT_OVERRIDE,
        reason=None,
        agreement_id="agr-1",
        agreement_version=2,
        bases=("confidentiality:overriding_public_interest", "override:safeguarding_child"),
        consent_record_ids=("c-1",),
        explanation="Permitted by override.",
        obligations=Obligations(allowed_items=("current_level",), redact=("rationale",)),
        override_reason=OverrideReason.SAFEGUARDING_CHILD,
    )

    stored = json.loads(json.dumps(decision.to_dict()))

    assert stored["obligations"] == {"allowed_items": ["current_level"], "redact": ["rationale"]}
    assert stored["override_reason"] == "safeguarding_child"
    assert Decision.from_dict(stored) == decision


def test_obligations_allowing_everything_are_stored_as_null_not_as_nothing() -> None:
    everything, nothing = Obligations(allowed_items=None), Obligations(allowed_items=())

    assert Obligations.from_dict(json.loads(json.dumps(everything.to_dict()))) == everything
    assert Obligations.from_dict(json.loads(json.dumps(nothing.to_dict()))) == nothing
