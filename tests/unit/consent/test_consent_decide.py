"""The first consent gate: agreements in force, coverage, and the person's consent position."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.decide import decide
from consent.model import (
    Agreement,
    AgreementParty,
    ConsentRecord,
    ConsentScope,
    Decision,
    DecisionRequest,
    LawfulBasis,
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
    PartyRole,
    Purpose,
    StatutoryGateway,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SENDER, RECIPIENT, OTHER = "RX4", "LA001", "HOU01"
RISK = "risk.changed"
EVERYTHING = ConsentScope()
AGREEMENT_REASONS = {
    DenyReason.NO_AGREEMENT,
    DenyReason.AGREEMENT_NOT_IN_FORCE,
    DenyReason.EVENT_TYPE_NOT_COVERED,
    DenyReason.PURPOSE_NOT_COVERED,
}


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
        "lawful_basis": LawfulBasis(
            Art6Basis.PUBLIC_TASK,
            Art9Condition.HEALTH_SOCIAL_CARE,
            ConfidentialityBasis.IMPLIED_CONSENT_INDIVIDUAL_CARE,
            dpa_sch1_para="2",
            statutory_gateways=(StatutoryGateway.CARE_ACT_S42_ENQUIRY,),
        ),
        "effective_from": NOW - timedelta(days=30),
    }
    values.update(overrides)
    return Agreement(**values)  # type: ignore[arg-type]


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


def test_permit_names_the_agreement_and_every_basis() -> None:
    decision = decide(request(), [agreement()], [])

    assert decision.outcome is DecisionOutcome.PERMIT
    assert (decision.agreement_id, decision.agreement_version) == ("agr-1", 1)
    assert decision.bases == (
        "art6:public_task",
        "art9:health_social_care",
        "dpa_sch1:para_2",
        "confidentiality:implied_consent_individual_care",
        "gateway:care_act_s42_enquiry",
    )
    assert "agr-1" in decision.explanation


def test_no_agreement_naming_both_parties_denies() -> None:
    decision = decide(request(recipient=OTHER), [agreement()], [])
    assert decision.reason is DenyReason.NO_AGREEMENT
    assert not decision.permitted


@pytest.mark.parametrize("status", [s for s in AgreementStatus if s is not AgreementStatus.ACTIVE])
def test_agreement_that_is_not_active_is_not_in_force(status: AgreementStatus) -> None:
    decision = decide(request(), [agreement(status=status)], [])
    assert decision.reason is DenyReason.AGREEMENT_NOT_IN_FORCE


def test_effective_from_is_inclusive_and_effective_to_exclusive() -> None:
    starts_now = agreement(effective_from=NOW)
    ends_now = agreement(effective_to=NOW)
    ends_later = agreement(effective_to=NOW + timedelta(seconds=1))

    assert decide(request(), [starts_now], []).permitted
    assert decide(request(), [ends_now], []).reason is DenyReason.AGREEMENT_NOT_IN_FORCE
    assert decide(request(), [ends_later], []).permitted
    not_yet = agreement(effective_from=NOW + timedelta(seconds=1))
    assert decide(request(), [not_yet], []).reason is DenyReason.AGREEMENT_NOT_IN_FORCE


def test_event_type_and_purpose_must_be_covered() -> None:
    assert (
        decide(request(event_type="crisis.occurred"), [agreement()], []).reason
        is DenyReason.EVENT_TYPE_NOT_COVERED
    )
    assert (
        decide(request(purpose=Purpose.SAFEGUARDING), [agreement()], []).reason
        is DenyReason.PURPOSE_NOT_COVERED
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (ConsentState.REFUSED, DenyReason.CONSENT_REFUSED),
        (ConsentState.WITHDRAWN, DenyReason.CONSENT_WITHDRAWN),
        (ConsentState.OBJECTION_RECORDED, DenyReason.OBJECTION_RECORDED),
    ],
)
def test_refusal_in_scope_denies_and_is_cited(state: ConsentState, reason: DenyReason) -> None:
    record = consent(state, NOW - timedelta(days=1))
    decision = decide(request(), [agreement()], [record])
    assert decision.reason is reason
    assert decision.consent_record_ids == (record.id,)
    assert record.id in decision.explanation


def test_refusal_for_another_recipient_does_not_deny() -> None:
    record = consent(ConsentState.REFUSED, NOW, ConsentScope(recipients=frozenset({OTHER})))
    assert decide(request(), [agreement()], [record]).permitted


def test_later_consent_in_the_same_scope_supersedes_a_refusal() -> None:
    refused = consent(ConsentState.REFUSED, NOW - timedelta(days=2))
    given_ = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1))
    assert decide(request(), [agreement()], [refused, given_]).permitted


def test_later_withdrawal_supersedes_consent() -> None:
    given_ = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=2))
    withdrawn = consent(ConsentState.WITHDRAWN, NOW - timedelta(days=1))
    assert (
        decide(request(), [agreement()], [given_, withdrawn]).reason is DenyReason.CONSENT_WITHDRAWN
    )


def test_narrow_refusal_beside_a_later_broad_consent_still_denies() -> None:
    narrow = consent(
        ConsentState.REFUSED,
        NOW - timedelta(days=2),
        ConsentScope(recipients=frozenset({RECIPIENT})),
    )
    broad = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1))
    assert decide(request(), [agreement()], [narrow, broad]).reason is DenyReason.CONSENT_REFUSED


def test_refusal_outside_its_validity_period_does_not_deny() -> None:
    expired = consent(ConsentState.REFUSED, NOW - timedelta(days=9), valid_to=NOW)
    future = consent(ConsentState.REFUSED, NOW, valid_from=NOW + timedelta(hours=1))
    current = consent(ConsentState.REFUSED, NOW, valid_from=NOW)

    assert decide(request(), [agreement()], [expired]).permitted
    assert decide(request(), [agreement()], [future]).permitted
    assert not decide(request(), [agreement()], [current]).permitted


def test_among_several_agreements_the_most_recently_effective_is_cited() -> None:
    older = agreement(id="agr-old", effective_from=NOW - timedelta(days=300))
    newer = agreement(id="agr-new", effective_from=NOW - timedelta(days=3))
    assert decide(request(), [older, newer], []).agreement_id == "agr-new"


def test_among_agreements_effective_together_the_highest_version_then_id_is_cited() -> None:
    v1 = agreement(id="agr-b", version=1)
    v2 = agreement(id="agr-a", version=2)
    same_version = agreement(id="agr-c", version=2)

    assert decide(request(), [v2, v1], []).agreement_version == 2
    assert decide(request(), [v2, same_version], []).agreement_id == "agr-c"


def test_rules_are_applied_in_order_so_the_first_failing_rule_is_reported() -> None:
    lapsed_and_wrong_type = agreement(status=AgreementStatus.SUSPENDED, event_types=frozenset())

    decision = decide(request(), [lapsed_and_wrong_type], [])

    assert decision.reason is DenyReason.AGREEMENT_NOT_IN_FORCE


def test_agreement_in_force_is_required_to_also_cover_the_event_and_purpose() -> None:
    lapsed_but_covering = agreement(id="agr-old", effective_to=NOW - timedelta(days=1))
    in_force_for_other_type = agreement(id="agr-new", event_types=frozenset({"crisis.occurred"}))

    decision = decide(request(), [lapsed_but_covering, in_force_for_other_type], [])

    assert decision.reason is DenyReason.EVENT_TYPE_NOT_COVERED


def test_agreement_denial_cites_no_consent_records() -> None:
    given_ = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1))

    decision = decide(request(), [agreement(status=AgreementStatus.DRAFT)], [given_])

    assert decision.consent_record_ids == ()
    assert decision.agreement_id is None
    assert decision.bases == ()


def test_refusal_for_another_event_type_or_purpose_does_not_deny() -> None:
    other_type = consent(
        ConsentState.REFUSED, NOW, ConsentScope(event_types=frozenset({"crisis.occurred"}))
    )
    other_purpose = consent(
        ConsentState.OBJECTION_RECORDED,
        NOW,
        ConsentScope(purposes=frozenset({Purpose.SAFEGUARDING})),
    )

    decision = decide(request(), [agreement()], [other_type, other_purpose])

    assert decision.permitted
    assert decision.consent_record_ids == ()


def test_refusal_and_consent_recorded_at_the_same_instant_in_one_scope_deny() -> None:
    given_ = ConsentRecord("c-z", ConsentState.GIVEN_EXPLICIT, EVERYTHING, NOW)
    refused = ConsentRecord("c-a", ConsentState.REFUSED, EVERYTHING, NOW)

    decision = decide(request(), [agreement()], [given_, refused])

    assert decision.reason is DenyReason.CONSENT_REFUSED


def test_denial_lists_every_surviving_record_and_reports_the_latest_refusal() -> None:
    narrow_refusal = consent(
        ConsentState.REFUSED,
        NOW - timedelta(days=3),
        ConsentScope(recipients=frozenset({RECIPIENT})),
    )
    superseded = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=2))
    broad_withdrawal = consent(ConsentState.WITHDRAWN, NOW - timedelta(days=1))

    decision = decide(request(), [agreement()], [broad_withdrawal, narrow_refusal, superseded])

    assert decision.reason is DenyReason.CONSENT_WITHDRAWN
    assert decision.consent_record_ids == (narrow_refusal.id, broad_withdrawal.id)
    assert (decision.agreement_id, decision.agreement_version) == ("agr-1", 1)


def test_permit_lists_the_surviving_records_relied_on() -> None:
    superseded = consent(ConsentState.REFUSED, NOW - timedelta(days=2))
    current = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1))
    implied_for_recipient = consent(
        ConsentState.IMPLIED,
        NOW - timedelta(days=5),
        ConsentScope(recipients=frozenset({RECIPIENT})),
    )

    decision = decide(request(), [agreement()], [current, superseded, implied_for_recipient])

    assert decision.permitted
    assert decision.consent_record_ids == (implied_for_recipient.id, current.id)


def test_withdrawal_is_explained_in_plain_english_with_its_date() -> None:
    withdrawn = consent(ConsentState.WITHDRAWN, datetime(2026, 11, 1, 9, 30, tzinfo=UTC))

    decision = decide(request(), [agreement()], [withdrawn])

    assert decision.explanation.startswith("Withheld: the subject withdrew consent on 2026-11-01")
    assert RECIPIENT in decision.explanation
    assert "direct care" in decision.explanation


def test_permit_is_explained_by_agreement_and_version() -> None:
    decision = decide(request(), [agreement(id="agr-9", version=2)], [])

    assert decision.explanation.startswith("Permitted under agreement agr-9 v2:")
    assert "public task" in decision.explanation


# Properties -------------------------------------------------------------------------------

agencies = st.sampled_from([SENDER, RECIPIENT, OTHER])
times = st.integers(min_value=-40, max_value=40).map(lambda d: NOW + timedelta(days=d))
# Biased towards agreements that could apply, so that most examples reach the consent rules.
agreements = st.builds(
    agreement,
    id=st.sampled_from(["a1", "a2", "a3"]),
    version=st.integers(1, 3),
    status=st.just(AgreementStatus.ACTIVE) | st.sampled_from(list(AgreementStatus)),
    parties=st.lists(st.sampled_from([RECIPIENT, OTHER]), max_size=2, unique=True).map(
        lambda codes: tuple(AgreementParty(c, PartyRole.CONTROLLER) for c in (SENDER, *codes))
    ),
    event_types=st.frozensets(st.sampled_from([RISK, "crisis.occurred"]), min_size=1),
    purposes=st.frozensets(st.sampled_from(list(Purpose)), min_size=1),
    effective_from=st.integers(min_value=-40, max_value=5).map(lambda d: NOW + timedelta(days=d)),
    effective_to=st.none() | times,
)
# Few scopes and few recording days, so that records often share a scope or an instant.
scopes = st.builds(
    ConsentScope,
    recipients=st.frozensets(st.sampled_from([RECIPIENT, OTHER]), max_size=1),
    event_types=st.frozensets(st.sampled_from([RISK, "crisis.occurred"]), max_size=1),
    purposes=st.frozensets(st.sampled_from(list(Purpose)), max_size=1),
)
consents = st.builds(
    ConsentRecord,
    id=st.uuids().map(str),
    state=st.sampled_from(list(ConsentState)),
    scope=scopes,
    recorded_at=st.integers(min_value=-3, max_value=0).map(lambda d: NOW + timedelta(days=d)),
    valid_from=st.none() | times,
    valid_to=st.none() | times,
)
requests = st.builds(
    request,
    recipient=st.sampled_from([RECIPIENT, OTHER]),
    event_type=st.sampled_from([RISK, "crisis.occurred"]),
    purpose=st.sampled_from(list(Purpose)),
)


def _covering(r: DecisionRequest, a: Agreement) -> bool:
    return (
        a.names_parties(r.sender, r.recipient)
        and a.in_force_at(r.at)
        and r.event_type in a.event_types
        and r.purpose in a.purposes
    )


@given(requests, st.lists(agreements, max_size=4), st.lists(consents, max_size=5))
def test_never_permits_without_an_agreement_in_force_covering_the_request(
    r: DecisionRequest, agrs: list[Agreement], cons: list[ConsentRecord]
) -> None:
    decision = decide(r, agrs, cons)
    if decision.permitted:
        cited = [
            a
            for a in agrs
            if (a.id, a.version) == (decision.agreement_id, decision.agreement_version)
        ]
        assert any(_covering(r, a) for a in cited)


@given(requests, st.lists(agreements, max_size=4), st.lists(consents, max_size=5))
def test_without_any_covering_agreement_the_denial_is_about_agreements(
    r: DecisionRequest, agrs: list[Agreement], cons: list[ConsentRecord]
) -> None:
    if not any(_covering(r, a) for a in agrs):
        assert decide(r, agrs, cons).reason in AGREEMENT_REASONS


@given(requests, st.lists(agreements, max_size=4), st.lists(consents, max_size=5))
def test_never_permits_against_a_surviving_refusal(
    r: DecisionRequest, agrs: list[Agreement], cons: list[ConsentRecord]
) -> None:
    agrs = [_covering_agreement(r), *agrs]

    if any(_refusal_among_latest(r, records) for records in _in_scope_by_scope(r, cons).values()):
        assert not decide(r, agrs, cons).permitted


@given(requests, st.lists(agreements, max_size=4), st.lists(consents, max_size=5))
def test_permits_when_covered_and_no_surviving_record_refuses(
    r: DecisionRequest, agrs: list[Agreement], cons: list[ConsentRecord]
) -> None:
    agrs = [_covering_agreement(r), *agrs]

    if not any(
        _refusal_among_latest(r, records) for records in _in_scope_by_scope(r, cons).values()
    ):
        assert decide(r, agrs, cons).permitted


def _covering_agreement(r: DecisionRequest) -> Agreement:
    return agreement(
        id="covering",
        parties=(
            AgreementParty(r.sender, PartyRole.CONTROLLER),
            AgreementParty(r.recipient, PartyRole.CONTROLLER),
        ),
        event_types=frozenset({r.event_type}),
        purposes=frozenset({r.purpose}),
    )


def _in_scope_by_scope(
    r: DecisionRequest, cons: list[ConsentRecord]
) -> dict[ConsentScope, list[ConsentRecord]]:
    grouped: dict[ConsentScope, list[ConsentRecord]] = {}
    for c in cons:
        if c.valid_at(r.at) and c.scope.covers(r.recipient, r.event_type, r.purpose):
            grouped.setdefault(c.scope, []).append(c)
    return grouped


def _refusal_among_latest(r: DecisionRequest, records: list[ConsentRecord]) -> bool:
    newest = max(c.recorded_at for c in records)
    return any(c.state in REFUSING_STATES for c in records if c.recorded_at == newest)


@given(
    requests,
    st.lists(agreements, max_size=4),
    st.lists(consents, max_size=5),
    st.randoms(use_true_random=False),
)
def test_decision_does_not_depend_on_input_order(
    r: DecisionRequest,
    agrs: list[Agreement],
    cons: list[ConsentRecord],
    rnd: random.Random,
) -> None:
    agrs = [_covering_agreement(r), *agrs]
    shuffled_a, shuffled_c = list(agrs), list(cons)
    rnd.shuffle(shuffled_a)
    rnd.shuffle(shuffled_c)

    assert decide(r, agrs, cons) == decide(r, shuffled_a, shuffled_c)


@given(requests, st.lists(agreements, max_size=3), st.lists(consents, max_size=3))
def test_decision_survives_storage(
    r: DecisionRequest, agrs: list[Agreement], cons: list[ConsentRecord]
) -> None:
    decision = decide(r, agrs, cons)
    assert Decision.from_dict(decision.to_dict()) == decision
