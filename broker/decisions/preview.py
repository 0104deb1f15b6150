"""PreviewDecision: what the consent gate would decide, writing nothing but its audit record."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.agreements.repository import versions_naming
from broker.audit.log import Actor, AuditEvent, append
from broker.errors import FieldError, InvalidInput
from broker.pipeline.route import override_claim
from broker.runtime import Runtime
from broker.subjects.repository import consent_histories, to_consent_record
from consent.decide import decide
from consent.model import ConsentRecord, Decision, DecisionRequest
from consent.vocab import purpose_of_use
from schemas.decisions import DecisionPreviewBody
from schemas.events import PAYLOAD_MODELS
from schemas.paths import model_paths
from schemas.vocabulary import Urgency


async def preview_decision(
    session: AsyncSession, rt: Runtime, actor: Actor, body: DecisionPreviewBody, *, any_party: bool
) -> dict[str, Any]:
    """`any_party`: an administrator may ask about two agencies other than its own."""
    assert actor.agency is not None
    sender = body.sender or actor.agency
    await _check_agencies(session, rt, actor.agency, sender, body, any_party=any_party)
    at = body.at or rt.clock()
    pseudonym = rt.pseudonymiser.pseudonym(body.subject.nhs_number)
    request = _request(body, sender, at)
    agreements = await versions_naming(session, sender)
    decision = decide(request, agreements, await _consents_known_at(session, pseudonym, at))
    append(
        session,
        AuditEvent.DECISION_PREVIEWED,
        actor,
        rt.clock(),
        subject=pseudonym,
        detail=_audit_detail(request, decision),
    )
    return _view(request, decision)


def _request(body: DecisionPreviewBody, sender: str, at: datetime) -> DecisionRequest:
    override = body.override.model_dump(mode="json") if body.override else None
    return DecisionRequest(
        sender=sender,
        recipient=body.recipient,
        event_type=body.event_type.value,
        purpose=body.purpose,
        at=at,
        urgency=body.urgency,
        override=override_claim(override),
        # No payload is given, so minimisation is shown against every item the event type has.
        payload_paths=model_paths(PAYLOAD_MODELS[body.event_type]),
    )


async def _consents_known_at(
    session: AsyncSession, pseudonym: str, at: datetime
) -> list[ConsentRecord]:
    # A decision for a past moment must not use what was only recorded afterwards.
    rows = await consent_histories(session, {pseudonym})
    return [to_consent_record(row) for row in rows if row.recorded_at <= at]


async def _check_agencies(
    session: AsyncSession,
    rt: Runtime,
    caller: str,
    sender: str,
    body: DecisionPreviewBody,
    *,
    any_party: bool,
) -> None:
    named = {"sender": sender, "recipient": body.recipient}
    known = await registered(session, rt, list(named.values()))
    errors = [
        FieldError(("body", field), f"unknown agency {code}")
        for field, code in named.items()
        if code not in known
    ]
    if sender == body.recipient:
        errors.append(FieldError(("body", "recipient"), "an agency does not send to itself"))
    if not any_party and caller not in named.values():
        errors.append(FieldError(("body", "sender"), "the caller's agency must be a party"))
    if errors:
        raise InvalidInput("the preview names agencies it cannot", errors)


def _audit_detail(request: DecisionRequest, decision: Decision) -> dict[str, Any]:
    return {
        "sender": request.sender,
        "recipient": request.recipient,
        "event_type": request.event_type,
        "purpose": request.purpose.value,
        "urgency": request.urgency.value,
        "at": request.at.isoformat(),
        "override_reason": request.override.reason.value if request.override else None,
        "outcome": decision.outcome.value,
        "reason": decision.reason.value if decision.reason else None,
        "agreement_id": decision.agreement_id,
        "agreement_version": decision.agreement_version,
    }


def _view(request: DecisionRequest, decision: Decision) -> dict[str, Any]:
    emergency = request.urgency is Urgency.EMERGENCY
    return {
        "sender": request.sender,
        "recipient": request.recipient,
        "event_type": request.event_type,
        "at": request.at.isoformat(),
        "purpose_of_use": purpose_of_use(request.purpose, emergency).value,
        **decision.to_dict(),
    }
