"""A subject's assurance trace: every message about the person and what became of it.

Public for the audit pages as well as the API: `subject_trace(session, pseudonym, viewer, now)`
gives, in the order the broker received them, each message about the subject with, per
recipient the viewer may see, the decision (reason, bases, agreement), the deadlines and the
times it was delivered, received and acknowledged, its breaches (`delivery.breached` records)
and its escalations. `viewer` None is an auditor who sees every agency; an agency sees the
messages it sent (all their recipients) and those it received (its own delivery only).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import AuditEvent
from broker.db.models import AuditRecord, Delivery, Escalation, Message
from broker.messages.views import recipient_view
from schemas.vocabulary import DeliveryStatus

__all__ = ["subject_trace"]


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
    trace = []
    for message in messages:
        own_only = viewer is not None and viewer != message.sender_agency
        recipients = [
            _recipient(d, now, escalations, breaches)
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
) -> dict[str, Any]:
    return {
        **recipient_view(delivery, now),
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
