"""DispatchDelivery: make a permitted delivery available in its recipient's inbox.

Idempotent: only a pending delivery becomes delivered, so a replayed record changes nothing.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, append
from broker.db.models import Delivery, Message
from broker.runtime import Runtime
from schemas.vocabulary import DeliveryStatus


async def make_available(session: AsyncSession, rt: Runtime, delivery_id: UUID) -> bool:
    delivery = await session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return False
    message = await session.get(Message, delivery.message_id)
    assert message is not None
    now = rt.clock()
    delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED.value, now
    append(
        session,
        AuditEvent.DELIVERY_DELIVERED,
        BROKER,
        now,
        message_id=delivery.message_id,
        delivery_id=delivery.id,
        subject=message.subject_pseudonym,
        detail={"recipient": delivery.recipient_agency, "channel": "inbox"},
    )
    rt.metrics.deliveries_delivered.inc()
    latency = (now - message.received_at).total_seconds()
    rt.metrics.publish_to_inbox_seconds.observe(max(latency, 0.0))
    return True
