"""The consent gate: agreements in force, coverage, the person's position, bases, obligations."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from consent_builders import (
    ACTIVATED,
    CRISIS,
    EVERYTHING,
    NOW,
    OTHER,
    RECIPIENT,
    RISK,
    S251B,
    SENDER,
    agreement,
    basis,
    consent,
    request,
)

from consent.decide import decide
from consent.model import Agreement, ConsentRecord, ConsentScope, Obligations
from consent.vocab import (
    AgreementStatus,
    ConsentState,
    DecisionOutcome,
    DenyReason,
    Purpose,
    StatutoryGateway,
)


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


# Each status, as the instants that make it: the status column itself is not consulted, so
# that a decision can be made for any moment.
NOT_IN_FORCE_AT_NOW: dict[AgreementStatus, dict[str, object]] = {
    AgreementStatus.DRAFT: {"activated_at": None},
    AgreementStatus.APPROVED: {"effective_from": NOW + timedelta(days=1)},
    AgreementStatus.SUSPENDED: {"ended_at": NOW - timedelta(days=1)},
    AgreementStatus.TERMINATED: {"ended_at": NOW - timedelta(days=1)},
    AgreementStatus.SUPERSEDED: {"ended_at": NOW},
    AgreementStatus.EXPIRED: {"effective_to": NOW},
}


@pytest.mark.parametrize("status", list(NOT_IN_FORCE_AT_NOW))
def test_agreement_that_is_not_active_is_not_in_force(status: AgreementStatus) -> None:
    lapsed = agreement(status=status, **NOT_IN_FORCE_AT_NOW[status])

    decision = decide(request(), [lapsed], [])

    assert decision.reason is DenyReason.AGREEMENT_NOT_IN_FORCE
    assert decision.explanation.startswith(f"Withheld: no agreement between {SENDER} and")


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
        decide(request(event_type=CRISIS), [agreement()], []).reason
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


def _by(
    agency: str, record: ConsentRecord, supersedes: frozenset[str] = frozenset()
) -> ConsentRecord:
    return replace(record, recording_agency=agency, supersedes=supersedes)


def test_another_agencys_later_consent_does_not_lift_a_refusal() -> None:
    refused = _by("LA001", consent(ConsentState.REFUSED, NOW - timedelta(days=2)))
    given_ = _by("RX4", consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1)))

    decision = decide(request(), [agreement()], [refused, given_])

    assert decision.reason is DenyReason.CONSENT_REFUSED
    assert refused.id in decision.consent_record_ids


def test_the_refusing_agencys_own_later_consent_lifts_its_refusal() -> None:
    refused = _by("LA001", consent(ConsentState.REFUSED, NOW - timedelta(days=2)))
    given_ = _by("LA001", consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1)))
    assert decide(request(), [agreement()], [refused, given_]).permitted


def test_a_later_consent_naming_another_agencys_refusal_lifts_it() -> None:
    refused = _by("LA001", consent(ConsentState.REFUSED, NOW - timedelta(days=2)))
    given_ = _by(
        "RX4",
        consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1)),
        supersedes=frozenset({refused.id}),
    )
    assert decide(request(), [agreement()], [refused, given_]).permitted


def test_naming_a_refusal_recorded_after_the_consent_lifts_nothing() -> None:
    given_ = _by("RX4", consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=2)))
    refused = _by("LA001", consent(ConsentState.REFUSED, NOW - timedelta(days=1)))
    named_early = replace(given_, supersedes=frozenset({refused.id}))
    assert not decide(request(), [agreement()], [named_early, refused]).permitted


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
    lapsed_and_wrong_type = agreement(ended_at=NOW - timedelta(days=1), event_types=frozenset())

    decision = decide(request(), [lapsed_and_wrong_type], [])

    assert decision.reason is DenyReason.AGREEMENT_NOT_IN_FORCE


def test_agreement_in_force_is_required_to_also_cover_the_event_and_purpose() -> None:
    lapsed_but_covering = agreement(id="agr-old", effective_to=NOW - timedelta(days=1))
    in_force_for_other_type = agreement(id="agr-new", event_types=frozenset({CRISIS}))

    decision = decide(request(), [lapsed_but_covering, in_force_for_other_type], [])

    assert decision.reason is DenyReason.EVENT_TYPE_NOT_COVERED


def test_agreement_denial_cites_no_consent_records() -> None:
    given_ = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1))

    decision = decide(request(), [agreement(activated_at=None)], [given_])

    assert decision.consent_record_ids == ()
    assert decision.agreement_id is None
    assert decision.bases == ()


def test_refusal_for_another_event_type_or_purpose_does_not_deny() -> None:
    other_type = consent(ConsentState.REFUSED, NOW, ConsentScope(event_types=frozenset({CRISIS})))
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


# In force by instants -----------------------------------------------------------------------


def test_agreement_is_in_force_from_the_instant_it_was_activated() -> None:
    activated_now = agreement(activated_at=NOW, effective_from=NOW - timedelta(days=30))
    activated_later = agreement(activated_at=NOW + timedelta(microseconds=1))

    assert decide(request(), [activated_now], []).outcome is DecisionOutcome.PERMIT
    assert decide(request(), [activated_later], []).reason is DenyReason.AGREEMENT_NOT_IN_FORCE


def test_agreement_stops_being_in_force_at_the_instant_it_ended() -> None:
    ends_now = agreement(ended_at=NOW)
    ends_just_after = agreement(ended_at=NOW + timedelta(microseconds=1))

    assert decide(request(), [ends_now], []).reason is DenyReason.AGREEMENT_NOT_IN_FORCE
    assert decide(request(), [ends_just_after], []).outcome is DecisionOutcome.PERMIT


def test_draft_within_its_effective_period_is_not_in_force() -> None:
    draft = agreement(status=AgreementStatus.DRAFT, activated_at=None)

    assert decide(request(), [draft], []).reason is DenyReason.AGREEMENT_NOT_IN_FORCE


def test_decision_for_a_past_moment_uses_the_agreement_in_force_then() -> None:
    superseded = agreement(id="agr-old", ended_at=NOW - timedelta(days=5))
    successor = agreement(id="agr-new", activated_at=NOW - timedelta(days=5))
    week_ago = request(at=NOW - timedelta(days=7))

    assert decide(week_ago, [superseded, successor], []).agreement_id == "agr-old"
    assert decide(request(), [superseded, successor], []).agreement_id == "agr-new"


def test_agreement_activated_before_it_takes_effect_waits_for_effective_from() -> None:
    approved_early = agreement(activated_at=ACTIVATED, effective_from=NOW + timedelta(hours=1))

    assert decide(request(), [approved_early], []).reason is DenyReason.AGREEMENT_NOT_IN_FORCE


# Consent states that do not refuse ----------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [ConsentState.GIVEN_EXPLICIT, ConsentState.IMPLIED, ConsentState.LACKS_CAPACITY_BEST_INTERESTS],
)
def test_consent_best_interests_and_implied_positions_do_not_refuse(state: ConsentState) -> None:
    record = consent(state, NOW - timedelta(days=1))

    decision = decide(request(), [agreement()], [record])

    assert decision.outcome is DecisionOutcome.PERMIT
    assert decision.consent_record_ids == (record.id,)


def test_best_interests_decision_after_a_refusal_supersedes_it_in_that_scope() -> None:
    refused = consent(ConsentState.REFUSED, NOW - timedelta(days=2))
    best_interests = consent(ConsentState.LACKS_CAPACITY_BEST_INTERESTS, NOW - timedelta(days=1))

    assert decide(request(), [agreement()], [refused, best_interests]).permitted


# The s251B duty to share and objections -----------------------------------------------------

S251B_CODE = f"gateway:{S251B.value}"


def _with_s251b() -> Agreement:
    return agreement(lawful_basis=basis(gateways=(S251B, StatutoryGateway.CARE_ACT_S42_ENQUIRY)))


def test_s251b_is_cited_when_the_subject_has_not_objected() -> None:
    decision = decide(request(), [_with_s251b()], [])

    assert S251B_CODE in decision.bases


def test_s251b_is_not_cited_while_an_objection_for_another_recipient_is_valid() -> None:
    elsewhere = ConsentScope(recipients=frozenset({OTHER}))
    objection = consent(ConsentState.OBJECTION_RECORDED, NOW - timedelta(days=1), elsewhere)

    decision = decide(request(), [_with_s251b()], [objection])

    assert decision.outcome is DecisionOutcome.PERMIT
    assert S251B_CODE not in decision.bases
    assert "gateway:care_act_s42_enquiry" in decision.bases
    assert "s251B duty to share is not relied on: the subject objects" in decision.explanation


def test_s251b_is_not_cited_while_a_superseded_objection_is_still_valid() -> None:
    objection = consent(ConsentState.OBJECTION_RECORDED, NOW - timedelta(days=2))
    later_consent = consent(ConsentState.GIVEN_EXPLICIT, NOW - timedelta(days=1))

    decision = decide(request(), [_with_s251b()], [objection, later_consent])

    assert decision.outcome is DecisionOutcome.PERMIT
    assert S251B_CODE not in decision.bases


def test_s251b_is_cited_again_once_the_objection_has_expired() -> None:
    expired = consent(ConsentState.OBJECTION_RECORDED, NOW - timedelta(days=9), valid_to=NOW)

    decision = decide(request(), [_with_s251b()], [expired])

    assert S251B_CODE in decision.bases


def test_refusal_that_is_not_an_objection_leaves_s251b_cited_on_a_permit() -> None:
    elsewhere = ConsentScope(recipients=frozenset({OTHER}))
    refused_elsewhere = consent(ConsentState.REFUSED, NOW - timedelta(days=1), elsewhere)

    decision = decide(request(), [_with_s251b()], [refused_elsewhere])

    assert S251B_CODE in decision.bases


# Data minimisation obligations --------------------------------------------------------------

RISK_PATHS = frozenset({"current_level", "previous_level", "rationale", "risk_domains"})


def test_agreement_without_data_items_allows_everything_and_redacts_nothing() -> None:
    decision = decide(request(payload_paths=RISK_PATHS), [agreement(data_items=None)], [])

    assert decision.obligations == Obligations(allowed_items=None, redact=())


def test_agreement_without_items_for_this_event_type_allows_everything() -> None:
    only_crisis = agreement(data_items={CRISIS: ("escalation_summary",)})

    decision = decide(request(payload_paths=RISK_PATHS), [only_crisis], [])

    assert decision.obligations == Obligations(allowed_items=None, redact=())


def test_permit_carries_the_allowed_items_and_what_they_remove_from_this_payload() -> None:
    levels_only = agreement(data_items={RISK: ("current_level", "previous_level")})

    decision = decide(request(payload_paths=RISK_PATHS), [levels_only], [])

    assert decision.obligations.allowed_items == ("current_level", "previous_level")
    assert decision.obligations.redact == ("rationale", "risk_domains")


def test_obligations_name_nothing_to_redact_when_the_payload_is_not_known() -> None:
    levels_only = agreement(data_items={RISK: ("current_level",)})

    decision = decide(request(payload_paths=None), [levels_only], [])

    assert decision.obligations == Obligations(allowed_items=("current_level",), redact=())


def test_empty_data_items_for_the_event_type_redact_the_whole_payload() -> None:
    nothing = agreement(data_items={RISK: ()})

    decision = decide(request(payload_paths=RISK_PATHS), [nothing], [])

    assert decision.obligations.allowed_items == ()
    assert decision.obligations.redact == tuple(sorted(RISK_PATHS))


def test_denial_carries_no_obligations() -> None:
    levels_only = agreement(data_items={RISK: ("current_level",)})
    refused = consent(ConsentState.REFUSED, NOW - timedelta(days=1))

    decision = decide(request(payload_paths=RISK_PATHS), [levels_only], [refused])

    assert decision.outcome is DecisionOutcome.DENY
    assert decision.obligations == Obligations()


def test_obligations_follow_the_agreement_that_is_cited() -> None:
    older = agreement(id="agr-old", effective_from=NOW - timedelta(days=90), data_items=None)
    newer = agreement(id="agr-new", data_items={RISK: ("current_level",)})

    decision = decide(request(payload_paths=RISK_PATHS), [older, newer], [])

    assert decision.agreement_id == "agr-new"
    assert decision.obligations.allowed_items == ("current_level",)


def test_denial_explanations_use_the_moment_of_routing() -> None:
    at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)

    decision = decide(request(at=at), [agreement()], [])

    assert decision.explanation.endswith("is in force at 2026-01-02T03:04:00+00:00.")


def test_consent_record_with_an_identical_scope_but_another_id_is_still_one_scope() -> None:
    first = ConsentRecord("c-1", ConsentState.REFUSED, EVERYTHING, NOW - timedelta(days=2))
    second = ConsentRecord("c-2", ConsentState.IMPLIED, ConsentScope(), NOW - timedelta(days=1))

    decision = decide(request(), [agreement()], [first, second])

    assert decision.consent_record_ids == ("c-2",)
    assert decision.permitted
