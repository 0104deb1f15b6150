"""decide(): may this event about this person go from this sender to this recipient?

The rules, in order:

1. Agreement. An agreement must name both parties, be in force at the moment of routing, and
   cover the event type and then the purpose; the first of these that no agreement meets is the
   reason for denial (no_agreement, agreement_not_in_force, event_type_not_covered,
   purpose_not_covered). In force means approved by every party (`activated_at`), not yet
   suspended, terminated or superseded (`ended_at`), and within its effective period; a draft,
   suspended, terminated, superseded or expired agreement is simply not in force at that
   instant. Sharing without an approved agreement would have no documented lawful basis (UK
   GDPR Art 5(2) accountability, Art 26 joint controllers; ICO Data Sharing Code of Practice).
2. The person's position. Among the consent records valid at the moment and in scope, only the
   latest in each identical scope counts; where scopes overlap, a refusal, withdrawal or
   objection in any of them denies (deny wins). A refusal removes the implied consent that
   individual care rests on under the common-law duty of confidence. A refusal stands until the
   agency that recorded it records a later position in the same scope, or a later record names
   it in `supersedes`: one agency's record never silently lifts a refusal another agency
   recorded, since the person may have told only that agency.
   An override lets the information go all the same (`permit_override`), only when all of:
   the claim names its reason, who authorised it and a justification; the purpose is
   safeguarding or the urgency is emergency, since routine care cannot outweigh a refusal; and
   an agreement in force covering the request rests on a lawful basis that fits the reason
   (the table and its legal grounds are in consent.override). An override that falls short is
   a denial whose explanation says why the override could not be used.
3. HSCA 2012 s251B (the duty to share for individual care) does not apply where the person
   objects, so it is never cited while any objection record of the subject is valid at the
   moment, whatever its scope. It is never cited for an override either: a person who refused
   or withdrew consent would be likely to object, and it never makes an override qualify.
4. A permit or override lists every basis relied on, the consent records considered, and the
   agreement's id and version; an override adds `override:<reason>`. Every decision explains
   itself in plain English.
5. Data minimisation (UK GDPR Art 5(1)(c)): a permit or override carries the agreement's
   allowed data items for the event type and the payload paths they remove (consent.redact).
6. Explicit or implied consent, and a best-interests decision for a person who lacks capacity
   (Mental Capacity Act 2005 s4), do not refuse. The national data opt-out does not apply to
   individual care, so it plays no part here.
"""

from collections.abc import Sequence
from datetime import datetime

from consent.explain import not_covered, overridden, permitted, refused, why_override_unusable
from consent.model import (
    Agreement,
    ConsentRecord,
    ConsentScope,
    Decision,
    DecisionRequest,
    Obligations,
    OverrideClaim,
)
from consent.override import supports_override
from consent.redact import redaction
from consent.vocab import (
    REFUSAL_REASON,
    REFUSING_STATES,
    ConsentState,
    DecisionOutcome,
    DenyReason,
    StatutoryGateway,
)

__all__ = ["decide", "lifted", "objection_valid", "surviving_consents"]

_S251B = StatutoryGateway.HSCA2012_S251B_DUTY_TO_SHARE

_COVERAGE_RULES = (
    (DenyReason.AGREEMENT_NOT_IN_FORCE, lambda a, r: a.in_force_at(r.at)),
    (DenyReason.EVENT_TYPE_NOT_COVERED, lambda a, r: r.event_type in a.event_types),
    (DenyReason.PURPOSE_NOT_COVERED, lambda a, r: r.purpose in a.purposes),
)


def decide(
    request: DecisionRequest, agreements: Sequence[Agreement], consents: Sequence[ConsentRecord]
) -> Decision:
    candidates, failure = covering_agreements(request, agreements)
    if failure is not None:
        return _deny(failure, None, (), not_covered(failure, request))
    considered = surviving_consents(request, consents)
    ids = tuple(c.id for c in considered)
    refusals = [c for c in considered if c.state in REFUSING_STATES]
    if refusals:
        return _against_refusal(request, candidates, max(refusals, key=_recency), ids)
    objected = objection_valid(request.at, consents)
    return _permit(request, _chosen(candidates), ids, objected)


def covering_agreements(
    request: DecisionRequest, agreements: Sequence[Agreement]
) -> tuple[list[Agreement], DenyReason | None]:
    """The agreements that cover the request, or the first rule that none of them meets."""
    candidates = [a for a in agreements if a.names_parties(request.sender, request.recipient)]
    if not candidates:
        return [], DenyReason.NO_AGREEMENT
    for reason, holds in _COVERAGE_RULES:
        candidates = [a for a in candidates if holds(a, request)]
        if not candidates:
            return [], reason
    return candidates, None


def surviving_consents(
    request: DecisionRequest, consents: Sequence[ConsentRecord]
) -> list[ConsentRecord]:
    """The in-scope records valid now: in each identical scope the latest, and every refusal
    that no later record has lifted (rule 2)."""
    in_scope = [
        record
        for record in consents
        if record.valid_at(request.at)
        and record.scope.covers(request.recipient, request.event_type, request.purpose)
    ]
    latest: dict[ConsentScope, ConsentRecord] = {}
    for record in in_scope:
        current = latest.get(record.scope)
        if current is None or _recency(record) > _recency(current):
            latest[record.scope] = record
    standing = [r for r in in_scope if r.state in REFUSING_STATES and not lifted(r, in_scope)]
    return sorted({*latest.values(), *standing}, key=_recency)


def lifted(refusal: ConsentRecord, records: Sequence[ConsentRecord]) -> bool:
    """Whether a later record sets the refusal aside: one by the same agency in the same scope,
    or one that names it."""
    return any(
        _recency(record) > _recency(refusal)
        and (
            refusal.id in record.supersedes
            or (
                record.scope == refusal.scope
                and record.recording_agency == refusal.recording_agency
            )
        )
        for record in records
    )


def objection_valid(at: datetime, consents: Sequence[ConsentRecord]) -> bool:
    """Whether any objection of the subject is valid at this moment, whatever its scope."""
    return any(c.state is ConsentState.OBJECTION_RECORDED and c.valid_at(at) for c in consents)


def _recency(record: ConsentRecord) -> tuple[datetime, bool, str]:
    # Two positions recorded at the same instant for the same scope cannot be ordered by time;
    # the refusing one is taken as the later so that the tie resolves to not sharing.
    return (record.recorded_at, record.state in REFUSING_STATES, record.id)


def _chosen(agreements: Sequence[Agreement]) -> Agreement:
    # Several may qualify; the most recently effective, then the newest version, then the id
    # makes the choice independent of the order the agreements were loaded in.
    return max(agreements, key=lambda a: (a.effective_from, a.version, a.id))


# Outcomes ---------------------------------------------------------------------------------


def _permit(
    request: DecisionRequest, agreement: Agreement, ids: tuple[str, ...], objected: bool
) -> Decision:
    explanation = permitted(agreement, request)
    if objected and _S251B in agreement.lawful_basis.statutory_gateways:
        explanation += " The HSCA 2012 s251B duty to share is not relied on: the subject objects."
    if request.override is not None:
        explanation += " No refusal applies, so the override was not needed."
    return Decision(
        outcome=DecisionOutcome.PERMIT,
        reason=None,
        agreement_id=agreement.id,
        agreement_version=agreement.version,
        bases=_bases(agreement, drop_s251b=objected),
        consent_record_ids=ids,
        explanation=explanation,
        obligations=_obligations(agreement, request),
    )


def _against_refusal(
    request: DecisionRequest,
    candidates: list[Agreement],
    refusal: ConsentRecord,
    ids: tuple[str, ...],
) -> Decision:
    reason, withheld = REFUSAL_REASON[refusal.state], refused(refusal, request)
    claim = request.override
    if claim is None:
        return _deny(reason, _chosen(candidates), ids, withheld)
    supporting = [a for a in candidates if supports_override(claim.reason, a.lawful_basis)]
    why_not = why_override_unusable(request, claim, candidates, supporting)
    if why_not is not None:
        explanation = f"{withheld} The override could not be used: {why_not}."
        return _deny(reason, _chosen(candidates), ids, explanation)
    return _permit_override(request, claim, _chosen(supporting), refusal, ids)


def _permit_override(
    request: DecisionRequest,
    claim: OverrideClaim,
    agreement: Agreement,
    refusal: ConsentRecord,
    ids: tuple[str, ...],
) -> Decision:
    return Decision(
        outcome=DecisionOutcome.PERMIT_OVERRIDE,
        reason=None,
        agreement_id=agreement.id,
        agreement_version=agreement.version,
        bases=(*_bases(agreement, drop_s251b=True), f"override:{claim.reason.value}"),
        consent_record_ids=ids,
        explanation=overridden(agreement, request, claim, refusal),
        obligations=_obligations(agreement, request),
        override_reason=claim.reason,
    )


def _deny(
    reason: DenyReason, agreement: Agreement | None, consent_ids: tuple[str, ...], why: str
) -> Decision:
    return Decision(
        outcome=DecisionOutcome.DENY,
        reason=reason,
        agreement_id=agreement.id if agreement else None,
        agreement_version=agreement.version if agreement else None,
        bases=(),
        consent_record_ids=consent_ids,
        explanation=why,
    )


def _bases(agreement: Agreement, drop_s251b: bool) -> tuple[str, ...]:
    codes = agreement.lawful_basis.codes()
    if not drop_s251b:
        return codes
    return tuple(code for code in codes if code != f"gateway:{_S251B.value}")


def _obligations(agreement: Agreement, request: DecisionRequest) -> Obligations:
    allowed = _allowed_items(agreement, request.event_type)
    present = request.payload_paths
    return Obligations(
        allowed_items=allowed,
        redact=redaction(present, allowed) if present is not None else (),
    )


def _allowed_items(agreement: Agreement, event_type: str) -> tuple[str, ...] | None:
    # No data items, or none for this event type, means the agreement did not restrict them.
    if agreement.data_items is None or event_type not in agreement.data_items:
        return None
    return tuple(agreement.data_items[event_type])
