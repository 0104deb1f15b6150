"""Properties of decide() over generated agreements, consent histories, overrides and payloads.

The generated values are deliberately narrow (three agencies, two event types, instants around
the moment of routing, every combination of a few legal bases) so that most examples get past
the agreement rules and reach the consent and override rules. The oracles here are written
independently of consent.override.
"""

import dataclasses
import itertools
import random
from collections.abc import Mapping
from datetime import timedelta

from consent_builders import (
    ACTIVATED,
    CRISIS,
    NOW,
    OTHER,
    RECIPIENT,
    RISK,
    S251B,
    SENDER,
    agreement,
    request,
)
from hypothesis import given, settings
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
    Obligations,
    OverrideClaim,
)
from consent.vocab import (
    REFUSING_STATES,
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

AGREEMENT_REASONS = {
    DenyReason.NO_AGREEMENT,
    DenyReason.AGREEMENT_NOT_IN_FORCE,
    DenyReason.EVENT_TYPE_NOT_COVERED,
    DenyReason.PURPOSE_NOT_COVERED,
}
S251B_CODE = f"gateway:{S251B.value}"
PATHS = ["current_level", "rationale", "escalation_summary.what_is_requested", "attempts.method"]

# The generated values are narrow enough that fifty examples reach every rule; more would slow
# the unit suite without finding more.
examples = settings(max_examples=50)
Case = tuple[DecisionRequest, list[Agreement], list[ConsentRecord]]

# Generation draws whole prepared options (every combination of a few values per field) rather
# than field by field: it keeps each example cheap, so the suite stays fast, while instants
# just before, at and after the moment of routing are all reached.
DAY, TICK = timedelta(days=1), timedelta(microseconds=1)
GATEWAY_SETS: list[tuple[StatutoryGateway, ...]] = [
    (),
    (S251B,),
    (StatutoryGateway.CARE_ACT_S42_ENQUIRY,),
    (StatutoryGateway.CARE_ACT_S45_SAB_REQUEST,),
    (S251B, StatutoryGateway.CARE_ACT_S42_ENQUIRY),
]
ALL_BASES = [
    LawfulBasis(*combination)
    for combination in itertools.product(
        Art6Basis, Art9Condition, ConfidentialityBasis, [None, "2", "18"], GATEWAY_SETS
    )
]
CONSENT_FREE = {
    ConfidentialityBasis.OVERRIDING_PUBLIC_INTEREST,
    ConfidentialityBasis.LEGAL_REQUIREMENT,
}
# Half of the bases drawn can carry some override, so that overrides are both used and refused.
lawful_bases = st.sampled_from(ALL_BASES) | st.sampled_from(
    [b for b in ALL_BASES if b.confidentiality in CONSENT_FREE]
)
agreement_data_items = st.sampled_from(
    [
        None,
        {RISK: ()},
        {RISK: ("current_level",)},
        {CRISIS: ("escalation_summary.what_is_requested", "attempts.method")},
        {RISK: ("rationale", "escalation_summary"), CRISIS: ("attempts",)},
    ]
)
AGREEMENT_SHAPES = [
    {
        "parties": tuple(AgreementParty(c, PartyRole.CONTROLLER) for c in (SENDER, *others)),
        "event_types": event_types,
        "purposes": purposes,
    }
    for others, event_types, purposes in itertools.product(
        [(RECIPIENT,), (OTHER,), (RECIPIENT, OTHER), ()],
        [frozenset({RISK}), frozenset({CRISIS}), frozenset({RISK, CRISIS})],
        [frozenset({Purpose.DIRECT_CARE}), frozenset({Purpose.SAFEGUARDING}), frozenset(Purpose)],
    )
]
AGREEMENT_TIMINGS = [
    {"effective_from": start, "effective_to": end, "activated_at": activated, "ended_at": ended}
    for start, end, activated, ended in itertools.product(
        [NOW - 30 * DAY, NOW - DAY, NOW, NOW + TICK],
        [None, None, NOW, NOW + TICK],
        [ACTIVATED, ACTIVATED, None, NOW, NOW + TICK],
        [None, None, NOW - DAY, NOW, NOW + TICK],
    )
]
agreements = st.builds(
    lambda id_version, shape, timing, basis, items: agreement(
        id=id_version[0],
        version=id_version[1],
        **shape,
        **timing,
        lawful_basis=basis,
        data_items=items,
    ),
    st.sampled_from(list(itertools.product(["a1", "a2"], [1, 2]))),
    st.sampled_from(AGREEMENT_SHAPES),
    st.sampled_from(AGREEMENT_TIMINGS),
    lawful_bases,
    agreement_data_items,
)
# Few scopes and few recording days, so that records often share a scope or an instant.
SCOPES = [
    ConsentScope(recipients, event_types, purposes)
    for recipients, event_types, purposes in itertools.product(
        [frozenset(), frozenset(), frozenset({RECIPIENT}), frozenset({OTHER})],
        [frozenset(), frozenset(), frozenset({RISK}), frozenset({CRISIS})],
        [frozenset(), frozenset(), *(frozenset({p}) for p in Purpose)],
    )
]
VALIDITY = [
    (None, None),
    (None, None),
    (NOW, None),
    (None, NOW),
    (NOW + TICK, None),
    (None, NOW + TICK),
    (NOW - DAY, NOW + DAY),
]
consent_records = st.builds(
    lambda state, scope, days_ago, validity: ConsentRecord(
        "", state, scope, NOW - days_ago * DAY, *validity
    ),
    st.sampled_from(list(ConsentState)),
    st.sampled_from(SCOPES),
    st.integers(0, 3),
    st.sampled_from(VALIDITY),
)
CLAIMS = [
    OverrideClaim(*combination)
    for combination in itertools.product(
        OverrideReason,
        ["Dr A Shah", "Dr A Shah", "Dr A Shah", " "],
        ["Threat to life.", "Threat to life.", "Threat to life.", ""],
    )
]
claims = st.sampled_from(CLAIMS)
REQUEST_SHAPES = [
    {"recipient": recipient, "event_type": event_type, "purpose": purpose, "urgency": urgency}
    for recipient, event_type, purpose, urgency in itertools.product(
        [RECIPIENT, OTHER], [RISK, CRISIS], Purpose, Urgency
    )
]
payload_paths = st.none() | st.sampled_from(
    [frozenset(c) for n in range(4) for c in itertools.combinations([*PATHS, "attempts.at"], n)]
)
requests = st.builds(
    lambda shape, claim, paths: request(**shape, override=claim, payload_paths=paths),
    st.sampled_from(REQUEST_SHAPES),
    st.none() | claims,
    payload_paths,
)


def _numbered(records: list[ConsentRecord]) -> list[ConsentRecord]:
    # Ids are given after generation: distinct, as stored records' ids are.
    return [dataclasses.replace(record, id=f"c{i}") for i, record in enumerate(records)]


few_consents = st.lists(consent_records, max_size=4)


@st.composite
def open_cases(draw: st.DrawFn) -> Case:
    """Any request, agreements and consent history, covering or not."""
    # An agreement's (id, version) names one stored version: two generated with the same pair
    # but other terms could not exist, and would make the choice between them a coin toss.
    agrs = draw(st.lists(agreements, max_size=3, unique_by=lambda a: (a.id, a.version)))
    r = draw(requests)
    return r, agrs, _numbered(draw(few_consents))


@st.composite
def covered_cases(draw: st.DrawFn) -> Case:
    """As open_cases, with an agreement that covers the request among the others."""
    r, others, consents = draw(open_cases())
    covering = _covering_agreement(r, draw(lawful_bases), draw(agreement_data_items))
    return r, [covering, *others], consents


@st.composite
def refused_cases(draw: st.DrawFn) -> Case:
    """As covered_cases, with an override claim and a refusal in scope (maybe superseded)."""
    r, agrs, consents = draw(covered_cases())
    refusal = ConsentRecord(
        "", draw(st.sampled_from(sorted(REFUSING_STATES))), ConsentScope(), NOW - DAY
    )
    claimed = dataclasses.replace(r, override=draw(claims))
    return claimed, agrs, _numbered([refusal, *consents])


# Oracles, written without the engine's own table --------------------------------------------


def _covering(r: DecisionRequest, a: Agreement) -> bool:
    return (
        a.names_parties(r.sender, r.recipient)
        and a.in_force_at(r.at)
        and r.event_type in a.event_types
        and r.purpose in a.purposes
    )


def _covering_agreement(
    r: DecisionRequest, basis: LawfulBasis, items: Mapping[str, tuple[str, ...]] | None
) -> Agreement:
    return agreement(
        id="covering",
        parties=(
            AgreementParty(r.sender, PartyRole.CONTROLLER),
            AgreementParty(r.recipient, PartyRole.CONTROLLER),
        ),
        event_types=frozenset({r.event_type}),
        purposes=frozenset({r.purpose}),
        lawful_basis=basis,
        data_items=items,
    )


def _in_scope_by_scope(
    r: DecisionRequest, cons: list[ConsentRecord]
) -> dict[ConsentScope, list[ConsentRecord]]:
    grouped: dict[ConsentScope, list[ConsentRecord]] = {}
    for c in cons:
        if c.valid_at(r.at) and c.scope.covers(r.recipient, r.event_type, r.purpose):
            grouped.setdefault(c.scope, []).append(c)
    return grouped


def _refusal_among_latest(records: list[ConsentRecord]) -> bool:
    newest = max(c.recorded_at for c in records)
    return any(c.state in REFUSING_STATES for c in records if c.recorded_at == newest)


def _refusal_survives(r: DecisionRequest, cons: list[ConsentRecord]) -> bool:
    return any(_refusal_among_latest(records) for records in _in_scope_by_scope(r, cons).values())


def _objection_valid(r: DecisionRequest, cons: list[ConsentRecord]) -> bool:
    return any(c.state is ConsentState.OBJECTION_RECORDED and c.valid_at(r.at) for c in cons)


def _claim_may_be_used(r: DecisionRequest) -> bool:
    claim = r.override
    return (
        claim is not None
        and bool(claim.authorised_by.strip())
        and bool(claim.justification.strip())
        and (r.purpose is Purpose.SAFEGUARDING or r.urgency is Urgency.EMERGENCY)
    )


def _basis_fits(reason: OverrideReason, b: LawfulBasis) -> bool:
    if b.confidentiality not in CONSENT_FREE:
        return False
    gateways = set(b.statutory_gateways) - {S251B}
    para_18 = b.art9 is Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST and b.dpa_sch1_para == "18"
    if reason is OverrideReason.SAFEGUARDING_ADULT_AT_RISK:
        return para_18 or StatutoryGateway.CARE_ACT_S42_ENQUIRY in gateways
    if reason is OverrideReason.SAFEGUARDING_CHILD:
        return para_18
    if reason is OverrideReason.VITAL_INTERESTS:
        return Art9Condition.VITAL_INTERESTS is b.art9 or Art6Basis.VITAL_INTERESTS is b.art6
    if reason is OverrideReason.SERIOUS_HARM_PUBLIC_INTEREST:
        return (
            b.confidentiality is ConfidentialityBasis.OVERRIDING_PUBLIC_INTEREST
            and b.art9 is Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST
        )
    return (
        b.confidentiality is ConfidentialityBasis.LEGAL_REQUIREMENT
        or b.art6 is Art6Basis.LEGAL_OBLIGATION
        or bool(gateways)
    )


def _override_qualifies(r: DecisionRequest, agrs: list[Agreement]) -> bool:
    if r.override is None or not _claim_may_be_used(r):
        return False
    reason = r.override.reason
    return any(_covering(r, a) and _basis_fits(reason, a.lawful_basis) for a in agrs)


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(f"{prefix}.")


# Agreements ---------------------------------------------------------------------------------


@examples
@given(open_cases())
def test_never_permits_without_an_agreement_in_force_covering_the_request(case: Case) -> None:
    r, agrs, cons = case

    decision = decide(r, agrs, cons)

    if decision.permitted:
        assert any(_covering(r, a) for a in _all_cited(decision, agrs))


@examples
@given(open_cases())
def test_without_any_covering_agreement_the_denial_is_about_agreements(case: Case) -> None:
    r, agrs, cons = case

    if not any(_covering(r, a) for a in agrs):
        decision = decide(r, agrs, cons)

        assert decision.reason in AGREEMENT_REASONS
        assert (decision.bases, decision.consent_record_ids) == ((), ())


# The person's position ----------------------------------------------------------------------


@examples
@given(covered_cases())
def test_never_permits_plainly_against_a_surviving_refusal(case: Case) -> None:
    r, agrs, cons = case

    if _refusal_survives(r, cons):
        assert decide(r, agrs, cons).outcome is not DecisionOutcome.PERMIT


@examples
@given(covered_cases(), few_consents)
def test_no_other_agencys_record_lifts_a_refusal_it_does_not_name(
    case: Case, later: list[ConsentRecord]
) -> None:
    r, agrs, _ = case
    refusal = ConsentRecord(
        "held", ConsentState.REFUSED, ConsentScope(), NOW - DAY, recording_agency="LA001"
    )
    others = [dataclasses.replace(c, recording_agency="RX4") for c in _numbered(later)]
    decision = decide(dataclasses.replace(r, override=None), agrs, [refusal, *others])
    assert decision.outcome is DecisionOutcome.DENY
    assert "held" in decision.consent_record_ids


@examples
@given(covered_cases())
def test_permits_when_covered_and_no_surviving_record_refuses(case: Case) -> None:
    r, agrs, cons = case

    if not _refusal_survives(r, cons):
        assert decide(r, agrs, cons).outcome is DecisionOutcome.PERMIT


# Overrides ----------------------------------------------------------------------------------


@examples
@given(refused_cases() | covered_cases())
def test_never_permits_by_override_without_a_qualifying_override(case: Case) -> None:
    r, agrs, cons = case

    decision = decide(r, agrs, cons)

    if decision.outcome is DecisionOutcome.PERMIT_OVERRIDE:
        assert r.override is not None and _claim_may_be_used(r)
        assert _refusal_survives(r, cons)
        assert decision.override_reason is r.override.reason
        reason = r.override.reason
        assert any(
            _covering(r, a) and _basis_fits(reason, a.lawful_basis)
            for a in _all_cited(decision, agrs)
        )


@examples
@given(refused_cases())
def test_qualifying_override_against_a_refusal_is_used_and_no_other(case: Case) -> None:
    r, agrs, cons = case

    if _refusal_survives(r, cons):
        used = decide(r, agrs, cons).outcome is DecisionOutcome.PERMIT_OVERRIDE

        assert used == _override_qualifies(r, agrs)


@examples
@given(refused_cases() | covered_cases())
def test_permits_cite_their_agreement_bases_without_a_disapplied_s251b(case: Case) -> None:
    r, agrs, cons = case

    decision = decide(r, agrs, cons)

    # s251B is dropped while any objection is valid, and always for an override.
    overridden = decision.outcome is DecisionOutcome.PERMIT_OVERRIDE
    dropped = {S251B_CODE} if overridden or _objection_valid(r, cons) else set()
    extra = (f"override:{decision.override_reason}",) if overridden else ()
    if decision.permitted:
        assert any(
            decision.bases == (*(c for c in a.lawful_basis.codes() if c not in dropped), *extra)
            for a in _all_cited(decision, agrs)
        )


@examples
@given(refused_cases() | covered_cases())
def test_s251b_is_never_a_basis_while_an_objection_is_valid(case: Case) -> None:
    r, agrs, cons = case

    decision = decide(r, agrs, cons)

    if _objection_valid(r, cons):
        assert S251B_CODE not in decision.bases


# Obligations and storage --------------------------------------------------------------------


@examples
@given(covered_cases())
def test_only_permits_carry_obligations_and_they_never_redact_an_allowed_item(
    case: Case,
) -> None:
    r, agrs, cons = case

    decision = decide(r, agrs, cons)
    allowed, removed = decision.obligations.allowed_items, decision.obligations.redact
    present = r.payload_paths or frozenset()

    if not decision.permitted:
        assert decision.obligations == Obligations()
    if removed:
        assert allowed is not None
        kept = {p for p in present if any(_within(p, item) for item in allowed)}
        assert not any(_within(p, prefix) for p in kept for prefix in removed)
        assert all(any(_within(p, prefix) for p in present) for prefix in removed)


@examples
@given(covered_cases(), st.randoms(use_true_random=False))
def test_decision_does_not_depend_on_input_order(case: Case, rnd: random.Random) -> None:
    r, agrs, cons = case
    shuffled_a, shuffled_c = list(agrs), list(cons)
    rnd.shuffle(shuffled_a)
    rnd.shuffle(shuffled_c)

    assert decide(r, agrs, cons) == decide(r, shuffled_a, shuffled_c)


@examples
@given(open_cases() | refused_cases())
def test_decision_survives_storage(case: Case) -> None:
    decision = decide(*case)

    assert Decision.from_dict(decision.to_dict()) == decision


def _all_cited(decision: Decision, agrs: list[Agreement]) -> list[Agreement]:
    # Generated agreements may share an id and version; the checks hold if any of them fits.
    cited = [
        a for a in agrs if (a.id, a.version) == (decision.agreement_id, decision.agreement_version)
    ]
    assert cited, "a permit cites one of the agreements it was given"
    return cited
