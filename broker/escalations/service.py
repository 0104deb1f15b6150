"""OpenEscalation (a deadline missed), AcknowledgeEscalation (a duty team closes it) and
ResolveEscalations (the original delivery was acknowledged, so the chase is over).

An escalation carries the delivery's metadata and how late it is, never the clinical payload:
it goes to people who may not be entitled to the content, and out by e-mail.
"""

import secrets
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, Actor, AuditEvent, append, append_about_delivery
from broker.crypto.envelope import seal
from broker.db.models import Delivery, Escalation, Message
from broker.errors import Conflict, NotFound
from broker.runtime import Runtime
from schemas.escalations import EscalationAck
from schemas.vocabulary import BreachKind, EscalationStatus, EscalationStep

# No 0/O or 1/I: references are read out over the phone at three in the morning.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_reference() -> str:
    return "ESC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def close_note_ad(escalation_id: UUID) -> bytes:
    return b"imb:v1:escalation-note:" + str(escalation_id).encode()


def open_escalation(
    session: AsyncSession,
    rt: Runtime,
    message: Message,
    delivery: Delivery,
    *,
    step: int,
    route: EscalationStep,
    agency: str,
    breach: BreachKind,
    deadline: datetime,
) -> Escalation:
    """An open item in `agency`'s escalation queue for one step of the delivery's route."""
    now = rt.clock()
    item = Escalation(
        id=uuid4(),
        reference=new_reference(),
        delivery_id=delivery.id,
        message_id=message.id,
        step=step,
        route=route.value,
        agency_code=agency,
        breach=breach.value,
        deadline=deadline,
        status=EscalationStatus.OPEN.value,
        opened_at=now,
        notify_attempts=0,
    )
    session.add(item)
    append_about_delivery(
        session,
        AuditEvent.ESCALATION_OPENED,
        BROKER,
        now,
        message,
        delivery.id,
        detail={
            "escalation_id": str(item.id),
            "reference": item.reference,
            "step": step,
            "route": route.value,
            "agency": agency,
            "recipient": delivery.recipient_agency,
            "breach": breach.value,
            "deadline": deadline.isoformat(),
            "late_seconds": max((now - deadline).total_seconds(), 0.0),
        },
    )
    return item


async def acknowledge_escalation(
    session: AsyncSession, rt: Runtime, actor: Actor, escalation_id: UUID, ack: EscalationAck
) -> Escalation:
    """The caller's agency closes its own open escalation, saying what it did."""
    assert actor.agency is not None
    item = await session.get(Escalation, escalation_id, with_for_update=True)
    if item is None or item.agency_code != actor.agency:
        raise NotFound(f"no escalation {escalation_id} for this agency")
    if item.status != EscalationStatus.OPEN.value:
        raise Conflict(f"escalation {item.reference} is already {item.status}")
    now = rt.clock()
    item.status, item.closed_at = EscalationStatus.ACKNOWLEDGED.value, now
    item.outcome = ack.outcome.value
    item.closed_by = ack.acknowledged_by.model_dump()
    if ack.note is not None:
        sealed = seal(rt.keys.key_provider, ack.note.encode(), close_note_ad(item.id))
        item.close_note_sealed = sealed.to_bytes()
    message = await session.get(Message, item.message_id)
    assert message is not None
    append_about_delivery(
        session,
        AuditEvent.ESCALATION_ACKNOWLEDGED,
        actor,
        now,
        message,
        item.delivery_id,
        detail={
            "escalation_id": str(item.id),
            "reference": item.reference,
            "outcome": item.outcome,
            "acknowledged_by": item.closed_by,
        },
    )
    return item


async def resolve_for_delivery(
    session: AsyncSession, rt: Runtime, delivery: Delivery, subject: str
) -> list[Escalation]:
    """Close every open escalation of a delivery that has now been acknowledged."""
    statement = (
        select(Escalation)
        .where(
            Escalation.delivery_id == delivery.id,
            Escalation.status == EscalationStatus.OPEN.value,
        )
        .with_for_update()
    )
    items = list((await session.scalars(statement)).all())
    now = rt.clock()
    for item in items:
        item.status, item.closed_at = EscalationStatus.RESOLVED.value, now
        append(
            session,
            AuditEvent.ESCALATION_RESOLVED,
            BROKER,
            now,
            message_id=item.message_id,
            delivery_id=item.delivery_id,
            subject=subject,
            detail={
                "escalation_id": str(item.id),
                "reference": item.reference,
                "reason": "delivery_acknowledged",
                "outcome": delivery.ack_outcome,
            },
        )
    # Nothing more to chase: later steps of the route must not run.
    delivery.next_escalation_at = None
    return items
