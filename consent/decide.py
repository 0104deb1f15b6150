"""decide(): may this event about this person go from this sender to this recipient?

Rules, in order: an agreement naming both parties; in force at the moment of routing;
covering the event type; covering the purpose; then the person's consent position, where a
refusal, withdrawal or objection in scope denies. Deny wins wherever scopes overlap.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from consent.model import Agreement, ConsentRecord, ConsentScope, Decision, DecisionRequest
from consent.vocab import (
    REFUSAL_REASON,
    REFUSING_STATES,
    ConsentState,
    DecisionOutcome,
    DenyReason,
)

_COVERAGE_RULES = (
    (DenyReason.AGREEMENT_NOT_IN_FORCE, lambda a, r: a.in_force_at(r.at)),
    (DenyReason.EVENT_TYPE_NOT_COVERED, lambda a, r: r.event_type in a.event_types),
    (DenyReason.PURPOSE_NOT_COVERED, lambda a, r: r.purpose in a.purposes),
)


def decide(
    request: DecisionRequest, agreements: Sequence[Agreement], consents: Sequence[ConsentRecord]
) -> Decision:
    candidates = [a for a in agreements if a.names_parties(request.sender, request.recipient)]
    if not candidates:
        return _deny(DenyReason.NO_AGREEMENT, None, (), _no_agreement(request))
    for reason, holds in _COVERAGE_RULES:
        candidates = [a for a in candidates if holds(a, request)]
        if not candidates:
            return _deny(reason, None, (), _not_covered(reason, request))
    agreement = _chosen(candidates)
    considered = surviving_consents(request, consents)
    refusals = [c for c in considered if c.state in REFUSING_STATES]
    ids = tuple(c.id for c in considered)
    if refusals:
        latest = max(refusals, key=_recency)
        return _deny(REFUSAL_REASON[latest.state], agreement, ids, _refused(latest, request))
    return Decision(
        outcome=DecisionOutcome.PERMIT,
        reason=None,
        agreement_id=agreement.id,
        agreement_version=agreement.version,
        bases=agreement.lawful_basis.codes(),
        consent_record_ids=ids,
        explanation=_permitted(agreement, request),
    )


def surviving_consents(
    request: DecisionRequest, consents: Sequence[ConsentRecord]
) -> list[ConsentRecord]:
    """The in-scope records valid now; in each identical scope only the latest survives."""
    latest: dict[ConsentScope, ConsentRecord] = {}
    for record in consents:
        if not record.valid_at(request.at):
            continue
        if not record.scope.covers(request.recipient, request.event_type, request.purpose):
            continue
        current = latest.get(record.scope)
        if current is None or _recency(record) > _recency(current):
            latest[record.scope] = record
    return sorted(latest.values(), key=_recency)


def _recency(record: ConsentRecord) -> tuple[datetime, bool, str]:
    # Two positions recorded at the same instant for the same scope cannot be ordered by time;
    # the refusing one is taken as the later so that the tie resolves to not sharing.
    return (record.recorded_at, record.state in REFUSING_STATES, record.id)


def _chosen(agreements: list[Agreement]) -> Agreement:
    # Several may qualify; the most recently effective, then the newest version, then the id
    # makes the choice independent of the order the agreements were loaded in.
    return max(agreements, key=lambda a: (a.effective_from, a.version, a.id))


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


def _permitted(agreement: Agreement, request: DecisionRequest) -> str:
    art6 = _words(agreement.lawful_basis.art6)
    return (
        f"Permitted under agreement {agreement.id} v{agreement.version}: {_sharing(request)} "
        f"from {request.sender} to {request.recipient} for {_words(request.purpose)}, "
        f"on the basis of {art6}."
    )


def _no_agreement(request: DecisionRequest) -> str:
    return f"Withheld: no sharing agreement names both {request.sender} and {request.recipient}."


def _not_covered(reason: DenyReason, request: DecisionRequest) -> str:
    parties = f"{request.sender} and {request.recipient}"
    if reason is DenyReason.AGREEMENT_NOT_IN_FORCE:
        when = request.at.isoformat()
        return f"Withheld: no agreement between {parties} is in force at {when}."
    if reason is DenyReason.EVENT_TYPE_NOT_COVERED:
        return f"Withheld: no agreement in force between {parties} covers {_sharing(request)}."
    purpose = _words(request.purpose)
    return f"Withheld: no agreement in force between {parties} covers sharing for {purpose}."


_SUBJECT_DID = {
    ConsentState.REFUSED: "refused consent",
    ConsentState.WITHDRAWN: "withdrew consent",
    ConsentState.OBJECTION_RECORDED: "objected to sharing",
}


def _refused(record: ConsentRecord, request: DecisionRequest) -> str:
    return (
        f"Withheld: the subject {_SUBJECT_DID[record.state]} on "
        f"{record.recorded_at.date().isoformat()} for {_sharing(request)} with "
        f"{request.recipient} for {_words(request.purpose)} (consent record {record.id})."
    )


def _sharing(request: DecisionRequest) -> str:
    return f"{request.event_type} events"


def _words(code: StrEnum) -> str:
    return code.value.replace("_", " ")
