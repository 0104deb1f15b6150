"""Reading the audit trail for export: a time range, in id order, in keyset batches."""

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select

from broker.db.engine import Database
from broker.db.models import AuditRecord, Delivery, Message
from consent.vocab import purpose_of_use
from schemas.vocabulary import DeliveryStatus, Purpose, Urgency

EXPORT_BATCH = 500

Records = AsyncIterator[tuple[AuditRecord, str | None]]


def visible_to(agency: str) -> ColumnElement[bool]:
    """Records an agency may export: all of the messages it sent; of those it received, the
    message-level records and its own delivery's (never another recipient's decision); and
    its own acts that concern no message. The same rule as the audit search."""
    sent = select(Message.id).where(Message.sender_agency == agency)
    own_deliveries = select(Delivery.id).where(Delivery.recipient_agency == agency)
    received = select(Delivery.message_id).where(
        Delivery.recipient_agency == agency,
        Delivery.status != DeliveryStatus.WITHHELD.value,
    )
    return or_(
        AuditRecord.message_id.in_(sent),
        AuditRecord.delivery_id.in_(own_deliveries),
        and_(AuditRecord.delivery_id.is_(None), AuditRecord.message_id.in_(received)),
        and_(AuditRecord.message_id.is_(None), AuditRecord.actor_agency == agency),
    )


async def records_between(
    db: Database,
    start: datetime,
    end: datetime,
    agency: str | None,
    batch: int | None = None,
) -> Records:
    """Each record recorded in [start, end) with its message's HL7 purpose of use (TREAT, COC,
    ETREAT), in id order; `agency` None sees all.

    Every batch is its own short read, so a long export holds no transaction open.
    """
    size = batch or EXPORT_BATCH
    after = 0
    while True:
        query = (
            select(AuditRecord, Message.purpose, Message.urgency)
            .outerjoin(Message, Message.id == AuditRecord.message_id)
            .where(
                AuditRecord.id > after,
                AuditRecord.recorded_at >= start,
                AuditRecord.recorded_at < end,
            )
            .order_by(AuditRecord.id)
            .limit(size)
        )
        if agency is not None:
            query = query.where(visible_to(agency))
        async with db.unit_of_work() as session:
            rows = [
                (record, _purpose_of_use(purpose, urgency))
                for record, purpose, urgency in (await session.execute(query)).all()
            ]
            session.expunge_all()
        for row in rows:
            yield row
        if len(rows) < size:
            return
        after = rows[-1][0].id


def _purpose_of_use(purpose: str | None, urgency: str | None) -> str | None:
    if purpose is None:
        return None
    return purpose_of_use(Purpose(purpose), urgency == Urgency.EMERGENCY).value
