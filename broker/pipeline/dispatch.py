"""DispatchDeliveries: make permitted deliveries available in their recipients' inboxes.

Idempotent: only a pending delivery becomes delivered, so a replayed record changes nothing.
"""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, append
from broker.db.models import Delivery, Message
from broker.runtime import Runtime
from schemas.vocabulary import DeliveryStatus


async def make_available(session: AsyncSession, rt: Runtime, delivery_ids: list[UUID]) -> None:
    statement = (
        select(Delivery, Message.subject_pseudonym, Message.received_at)
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING.value)
        .with_for_update(of=Delivery)
    )
    now = rt.clock()
    for delivery, subject, accepted_at in (await session.execute(statement)).all():
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED.value, now
        append(
            session,
            AuditEvent.DELIVERY_DELIVERED,
            BROKER,
            now,
            message_id=delivery.message_id,
            delivery_id=delivery.id,
            subject=subject,
            detail={"recipient": delivery.recipient_agency, "channel": "inbox"},
        )
        rt.metrics.deliveries_delivered.inc()
        rt.metrics.publish_to_inbox_seconds.observe(max((now - accepted_at).total_seconds(), 0.0))
