"""decide(): may this event about this person go from this sender to this recipient?

Rules, in order: an agreement naming both parties; in force at the moment of routing;
covering the event type; covering the purpose; then the person's consent position, where a
refusal, withdrawal or objection in scope denies. Deny wins wherever scopes overlap.
"""

from collections.abc import Sequence

from consent.model import Agreement, ConsentRecord, Decision, DecisionRequest
from consent.vocab import REFUSAL_REASON, REFUSING_STATES, DecisionOutcome, DenyReason

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
        latest = max(refusals, key=lambda c: (c.recorded_at, c.id))
        return _deny(REFUSAL_REASON[latest.state], agreement, ids, _refused(latest, request))
    return Decision(
        outcome=DecisionOutcome.PERMIT,
        reason=None,
        agreement_id=agreement.id,
        agreement_version=agreement.version,
        bases=agreement.lawful_basis.codes(),
        consent_record_ids=ids,
        explanation=(
            f"Permitted under agreement {agreement.id} v{agreement.version} for "
            f"{request.purpose.value.replace('_', ' ')}: {request.event_type} from "
            f"{request.sender} to {request.recipient}."
        ),
    )


def surviving_consents(
    request: DecisionRequest, consents: Sequence[ConsentRecord]
) -> list[ConsentRecord]:
    """The in-scope records valid now; in each identical scope only the latest survives."""
    latest: dict[object, ConsentRecord] = {}
    for record in consents:
        if not record.valid_at(request.at):
            continue
        if not record.scope.covers(request.recipient, request.event_type, request.purpose):
            continue
        current = latest.get(record.scope)
        if current is None or (record.recorded_at, record.id) > (current.recorded_at, current.id):
            latest[record.scope] = record
    return sorted(latest.values(), key=lambda c: (c.recorded_at, c.id))


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


def _no_agreement(request: DecisionRequest) -> str:
    return f"Withheld: no sharing agreement names both {request.sender} and {request.recipient}."


def _not_covered(reason: DenyReason, request: DecisionRequest) -> str:
    parties = f"{request.sender} and {request.recipient}"
    if reason is DenyReason.AGREEMENT_NOT_IN_FORCE:
        return f"Withheld: no agreement between {parties} is in force at {request.at.isoformat()}."
    if reason is DenyReason.EVENT_TYPE_NOT_COVERED:
        return f"Withheld: no agreement in force between {parties} covers {request.event_type}."
    purpose = request.purpose.value.replace("_", " ")
    return f"Withheld: no agreement in force between {parties} covers sharing for {purpose}."


def _refused(record: ConsentRecord, request: DecisionRequest) -> str:
    what = record.state.value.replace("_", " ")
    return (
        f"Withheld: consent record {record.id} ({what}, recorded "
        f"{record.recorded_at.date().isoformat()}) covers sharing {request.event_type} "
        f"with {request.recipient}."
    )
