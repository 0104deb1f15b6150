"""DispatchDeliveries: make permitted deliveries available in their recipients' inboxes.

Idempotent: only a pending delivery becomes delivered, so a replayed record changes nothing.
Reads, updates and audit records are Core statements over the whole batch: one select, one
update and one insert, whatever the batch's size. Then what follows every delivery made
available (`broker.deliveries.available`): its `seq`, a push queued for a webhook agency, and
a notice to the recipient's waiting inbox readers at commit.
"""

from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, record
from broker.db.bulk import RowsToInsert
from broker.db.models import AuditRecord, Delivery, Message
from broker.deliveries.available import made_available
from broker.logs import after_commit, get_logger
from broker.runtime import Runtime
from schemas.vocabulary import DeliveryStatus

log = get_logger(__name__)


async def make_available(session: AsyncSession, rt: Runtime, delivery_ids: list[UUID]) -> None:
    pending = (
        select(
            Delivery.id,
            Delivery.message_id,
            Delivery.recipient_agency,
            Message.subject_pseudonym,
            Message.received_at,
        )
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING.value)
        .with_for_update(of=Delivery)
    )
    found = (await session.execute(pending)).all()
    if not found:
        return
    now = rt.clock()
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_([row.id for row in found]))
        .values(status=DeliveryStatus.DELIVERED.value, delivered_at=now)
        .execution_options(synchronize_session=False)
    )
    audit = RowsToInsert(AuditRecord)
    for delivery_id, message_id, recipient, subject, accepted_at in found:
        audit.add(
            AuditRecord,
            record(
                AuditEvent.DELIVERY_DELIVERED,
                BROKER,
                now,
                message_id=message_id,
                delivery_id=delivery_id,
                subject=subject,
                detail={"recipient": recipient, "channel": "inbox"},
            ),
        )
        rt.metrics.deliveries_delivered.inc()
        after_commit(
            session,
            log,
            "delivery.delivered",
            message_id=str(message_id),
            delivery_id=str(delivery_id),
            recipient=recipient,
            channel="inbox",
        )
        rt.metrics.publish_to_inbox_seconds.observe(max((now - accepted_at).total_seconds(), 0.0))
    await audit.insert(session)
    in_order = sorted(found, key=lambda row: (row.received_at, str(row.id)))
    await made_available(session, now, [(row.id, row.recipient_agency) for row in in_order])
