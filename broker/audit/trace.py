"""A subject's assurance trace: every message about the person and what became of it, and the
information-governance events about them.

Public for the audit pages as well as the API:

- `subject_trace(session, pseudonym, viewer, now)` gives, in the order the broker received
  them, each message about the subject with, per recipient the viewer may see, the decision
  (reason, bases, agreement), the deadlines and the times it was delivered, received and
  acknowledged, its breaches (`delivery.breached` records) and its escalations. An agency sees
  the messages it sent (all their recipients) and those it received (its own delivery only).
- `governance_trace(session, pseudonym, viewer)` gives, oldest first, the subject's consent
  records, care team replacements, crisis plan proposals, confirmations, activations and
  supersessions, and reads of their crisis plans. An agency sees the records its own clients
  made and the crisis plan records of plans it is a partner of.

`viewer` None is an auditor who sees every agency.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import (
    AuditRecord,
    CrisisPlan,
    CrisisPlanPartner,
    Delivery,
    Escalation,
    Message,
)
from broker.messages.views import recipient_view
from broker.subjects.access import persons_known_to
from schemas.vocabulary import DeliveryStatus

__all__ = ["governance_trace", "subject_trace"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def subject_trace(
    session: AsyncSession, pseudonym: str, viewer: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The subject's messages visible to `viewer`, oldest first; empty if it may see none."""
    statement = (
        select(Message)
        .where(Message.subject_pseudonym == pseudonym)
        .order_by(Message.received_at, Message.id)
    )
    if viewer is not None:
        received = select(Delivery.message_id).where(
            Delivery.recipient_agency == viewer,
            Delivery.status != DeliveryStatus.WITHHELD.value,
        )
        statement = statement.where(or_(Message.sender_agency == viewer, Message.id.in_(received)))
    messages = list((await session.scalars(statement)).all())
    if not messages:
        return []
    ids = [m.id for m in messages]
    deliveries = (
        await session.scalars(
            select(Delivery)
            .where(Delivery.message_id.in_(ids))
            .order_by(Delivery.created_at, Delivery.recipient_agency)
        )
    ).all()
    escalations = (
        await session.scalars(
            select(Escalation)
            .where(Escalation.message_id.in_(ids))
            .order_by(Escalation.opened_at, Escalation.step)
        )
    ).all()
    breaches = (
        await session.scalars(
            select(AuditRecord)
            .where(
                AuditRecord.message_id.in_(ids),
                AuditRecord.event == AuditEvent.DELIVERY_BREACHED.value,
            )
            .order_by(AuditRecord.id)
        )
    ).all()
    known = bool(await persons_known_to(session, viewer, {pseudonym}))
    trace = []
    for message in messages:
        own_only = viewer is not None and viewer != message.sender_agency
        recipients = [
            _recipient(d, now, escalations, breaches, known)
            for d in deliveries
            if d.message_id == message.id and (not own_only or d.recipient_agency == viewer)
        ]
        trace.append(
            {
                "message_id": str(message.id),
                "sender": message.sender_agency,
                "type": message.type,
                "urgency": message.urgency,
                "purpose": message.purpose,
                "occurred_at": _iso(message.occurred_at),
                "received_at": _iso(message.received_at),
                "recipients": recipients,
            }
        )
    return trace


def _recipient(
    delivery: Delivery,
    now: datetime,
    escalations: Any,
    breaches: Any,
    known: bool,
) -> dict[str, Any]:
    return {
        **recipient_view(delivery, now, known=known),
        "breaches": [
            {
                "recorded_at": _iso(r.recorded_at),
                "breach": r.detail.get("breach"),
                "deadline": r.detail.get("deadline"),
            }
            for r in breaches
            if r.delivery_id == delivery.id
        ],
        "escalations": [
            {
                "reference": e.reference,
                "step": e.step,
                "route": e.route,
                "agency": e.agency_code,
                "breach": e.breach,
                "status": e.status,
                "outcome": e.outcome,
                "opened_at": _iso(e.opened_at),
                "closed_at": _iso(e.closed_at),
            }
            for e in escalations
            if e.delivery_id == delivery.id
        ],
    }


# What of each governance record's detail the trace shows. An allow-list, because a detail may
# hold what describes the person or names staff: consent evidence is sealed and stays out, and
# free text (care team and partner roles, named leads, who confirmed) is left out as well.
_CRISIS_PLAN_EVENTS = {
    AuditEvent.CRISIS_PLAN_PROPOSED: ("crisis_plan_id", "lead_agency", "ack_within_seconds"),
    AuditEvent.CRISIS_PLAN_CONFIRMED: (
        "crisis_plan_id",
        "agency",
        "implied_by_proposal",
        "awaiting",
    ),
    AuditEvent.CRISIS_PLAN_ACTIVATED: ("crisis_plan_id", "lead_agency", "supersedes"),
    AuditEvent.CRISIS_PLAN_SUPERSEDED: ("crisis_plan_id", "superseded_by"),
    # A crisis plan read: the field paths come from the plan schema, never from its content.
    AuditEvent.PAYLOAD_VIEWED: ("crisis_plan_id", "recipient", "fields"),
}
_SHOWN_DETAIL = {
    AuditEvent.CONSENT_RECORDED: ("consent_id", "state", "supersedes"),
    # Who read the person's consent records: a read is evidence too. (Trace lookups are not
    # listed here, or looking a person up would itself make them found; search for them.)
    AuditEvent.CONSENT_VIEWED: ("consent_ids",),
    AuditEvent.CARE_TEAM_REPLACED: (),
    **_CRISIS_PLAN_EVENTS,
}
_CONSENT_SCOPE = ("recipients", "event_types", "purposes")


async def governance_trace(
    session: AsyncSession, pseudonym: str, viewer: str | None
) -> list[dict[str, Any]]:
    """The subject's governance records visible to `viewer`, oldest first."""
    records = await _governance_records(session, pseudonym)
    if viewer is not None:
        partnered = await _partnered_plans(session, pseudonym, viewer)
        records = [r for r in records if _visible(r, viewer, partnered)]
    return [_governance_entry(r) for r in records]


async def _governance_records(session: AsyncSession, pseudonym: str) -> list[AuditRecord]:
    """Found by the indexed subject pseudonym, so the trail is never scanned. A `payload.viewed`
    record about a message belongs to that message; one about no message is a crisis plan read.
    """
    statement = (
        select(AuditRecord)
        .where(
            AuditRecord.subject_pseudonym == pseudonym,
            AuditRecord.event.in_([e.value for e in _SHOWN_DETAIL]),
            or_(
                AuditRecord.event != AuditEvent.PAYLOAD_VIEWED.value,
                and_(AuditRecord.message_id.is_(None), AuditRecord.delivery_id.is_(None)),
            ),
        )
        .order_by(AuditRecord.recorded_at, AuditRecord.id)
    )
    return [
        r
        for r in (await session.scalars(statement)).all()
        if r.event != AuditEvent.PAYLOAD_VIEWED.value or "crisis_plan_id" in r.detail
    ]


async def _partnered_plans(session: AsyncSession, pseudonym: str, agency: str) -> set[str]:
    """The ids of the subject's crisis plans that name `agency` as a partner."""
    statement = (
        select(CrisisPlan.id)
        .join(CrisisPlanPartner, CrisisPlanPartner.plan_id == CrisisPlan.id)
        .where(CrisisPlan.subject_pseudonym == pseudonym, CrisisPlanPartner.agency_code == agency)
    )
    return {str(plan_id) for plan_id in (await session.scalars(statement)).all()}


def _visible(record: AuditRecord, agency: str, partnered: set[str]) -> bool:
    """Its own clients' records, and those about a crisis plan it is a partner of."""
    if record.actor_agency == agency:
        return True
    about_a_plan = AuditEvent(record.event) in _CRISIS_PLAN_EVENTS
    return about_a_plan and record.detail.get("crisis_plan_id") in partnered


def _governance_entry(record: AuditRecord) -> dict[str, Any]:
    event = AuditEvent(record.event)
    detail = {key: record.detail[key] for key in _SHOWN_DETAIL[event] if key in record.detail}
    if event is AuditEvent.CONSENT_RECORDED:
        scope = record.detail.get("scope") or {}
        detail["scope"] = {key: scope.get(key, []) for key in _CONSENT_SCOPE}
    elif event is AuditEvent.CARE_TEAM_REPLACED:
        detail["members"] = [
            {"agency": m.get("agency"), "coordinator": bool(m.get("coordinator"))}
            for m in record.detail.get("members", [])
        ]
    elif event is AuditEvent.CRISIS_PLAN_PROPOSED:
        detail["partners"] = [
            {"agency": p.get("agency"), "ack_within_seconds": p.get("ack_within_seconds")}
            for p in record.detail.get("partners", [])
        ]
    return {
        "id": record.id,
        "recorded_at": _iso(record.recorded_at),
        "event": record.event,
        "agency": record.actor_agency,
        "client": record.actor_client,
        "detail": detail,
    }


def note_trace_lookup(
    session: AsyncSession,
    actor: Actor,
    at: datetime,
    pseudonym: str,
    found: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Who looked up whom is itself evidence, found or not (`audit.subject_traced`); the
    caller commits."""
    messages, governance = found
    detail = {"messages": len(messages), "governance_records": len(governance)}
    append(session, AuditEvent.SUBJECT_TRACED, actor, at, subject=pseudonym, detail=detail)
