"""Re-announce unfinished work after the Kafka broker lost its records.

The embedded development broker keeps records in memory only, so after a restart anything
accepted but not yet routed, or routed but not yet dispatched, is put back in the outbox.
The stages are idempotent, so announcing something twice is harmless.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.crypto.envelope import Sealed, delivery_ad, message_ad, open_sealed, seal
from broker.db.models import Delivery, Message
from broker.messages.submit import ACCEPTED
from broker.pipeline.lanes import Lane
from broker.pipeline.outbox import delivery_record, enqueue, event_record
from broker.runtime import Runtime
from schemas.vocabulary import DeliveryStatus


async def requeue_unfinished(rt: Runtime) -> int:
    async with rt.db.unit_of_work() as session:
        count = await _requeue_messages(session, rt) + await _requeue_deliveries(session, rt)
        await session.commit()
    return count


async def _requeue_messages(session: AsyncSession, rt: Runtime) -> int:
    statement = (
        select(Message)
        .where(Message.status == ACCEPTED)
        .order_by(Message.received_at, Message.id)  # each person's in the order accepted
    )
    messages = (await session.scalars(statement)).all()
    now = rt.clock()
    for message in messages:
        record = event_record(message, Sealed.from_bytes(message.content_sealed))
        lane = Lane(message.lane)
        topic = rt.settings.kafka.events_topic(lane)
        enqueue(session, lane, topic, message.subject_pseudonym, record, now)
    return len(messages)


async def _requeue_deliveries(session: AsyncSession, rt: Runtime) -> int:
    rows = (
        await session.execute(
            select(Delivery, Message)
            .join(Message, Message.id == Delivery.message_id)
            .where(Delivery.status == DeliveryStatus.PENDING.value)
            .order_by(Delivery.created_at, Delivery.id)
        )
    ).all()
    now, keys = rt.clock(), rt.keys.key_provider
    for delivery, message in rows:
        content = open_sealed(
            keys, Sealed.from_bytes(message.content_sealed), message_ad(message.id)
        )
        sealed = seal(keys, content, delivery_ad(message.id, delivery.recipient_agency))
        record = delivery_record(delivery.id, delivery.recipient_agency, message, sealed)
        lane = Lane(delivery.lane)
        topic = rt.settings.kafka.deliveries_topic(lane)
        enqueue(session, lane, topic, delivery.recipient_agency, record, now)
    return len(rows)
