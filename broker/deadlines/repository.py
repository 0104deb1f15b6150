"""The deadline monitor's SQL: what is late, what is due, and claiming each exactly once.

Several monitors may run at once (one per `imb serve`, or `imb worker deadlines` processes).
Each scan locks its rows with SKIP LOCKED, so on PostgreSQL a second monitor passes over the
rows the first is handling instead of waiting for them; SQLite ignores it and serialises
writers anyway. Whoever holds a row still claims each breach and each route step by
compare-and-set, so that nothing is ever escalated twice even where a lock is not taken.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from broker.db.models import CareTeamMember, Delivery, Message
from schemas.vocabulary import BreachKind, DeliveryStatus

Candidate = tuple[Delivery, Message]

UNACKNOWLEDGED = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.RECEIVED)
_BREACHED_AT = {
    BreachKind.DELIVERY: "delivery_breached_at",
    BreachKind.ACKNOWLEDGEMENT: "ack_breached_at",
}


async def late_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[Candidate]:
    """Pending past deliver_by (ix_deliveries_deliver_by), not yet claimed as breached."""
    return await _scan(
        session,
        Delivery.deliver_by,
        limit,
        Delivery.status == DeliveryStatus.PENDING.value,
        Delivery.deliver_by < now,
        Delivery.delivered_at.is_(None),
        Delivery.delivery_breached_at.is_(None),
    )


async def unacknowledged(session: AsyncSession, now: datetime, limit: int) -> list[Candidate]:
    """Past ack_by without acknowledgement (ix_deliveries_ack_by), not yet claimed."""
    return await _scan(
        session,
        Delivery.ack_by,
        limit,
        Delivery.status.in_([s.value for s in UNACKNOWLEDGED]),
        Delivery.ack_by < now,
        Delivery.ack_breached_at.is_(None),
    )


async def due_steps(session: AsyncSession, now: datetime, limit: int) -> list[Candidate]:
    """Routes whose next step is due (ix_deliveries_next_escalation_at)."""
    return await _scan(
        session,
        Delivery.next_escalation_at,
        limit,
        Delivery.next_escalation_at <= now,
        Delivery.status != DeliveryStatus.ACKNOWLEDGED.value,
    )


async def _scan(
    session: AsyncSession, order: Any, limit: int, *conditions: ColumnElement[bool]
) -> list[Candidate]:
    statement: Select[tuple[Delivery, Message]] = (
        select(Delivery, Message)
        .join(Message, Message.id == Delivery.message_id)
        .where(*conditions)
        .order_by(order, Delivery.id)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    return [(delivery, message) for delivery, message in (await session.execute(statement)).all()]


async def claim_breach(
    session: AsyncSession, delivery: Delivery, kind: BreachKind, now: datetime
) -> bool:
    """Mark the breach detected; False when another monitor already did."""
    column = _BREACHED_AT[kind]
    return await _compare_and_set(
        session, delivery, getattr(Delivery, column).is_(None), {column: now}
    )


async def claim_step(
    session: AsyncSession, delivery: Delivery, step: int, next_at: datetime | None
) -> bool:
    """Take route step `step` for this monitor; False when another monitor already ran it."""
    return await _compare_and_set(
        session,
        delivery,
        Delivery.escalation_step == step,
        {"escalation_step": step + 1, "next_escalation_at": next_at},
    )


async def _compare_and_set(
    session: AsyncSession,
    delivery: Delivery,
    expected: ColumnElement[bool],
    values: dict[str, Any],
) -> bool:
    statement = (
        update(Delivery)
        .where(Delivery.id == delivery.id, expected)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # The row changed underneath the loaded object: keep the two in step without a second write.
    for name, value in values.items():
        set_committed_value(delivery, name, value)
    return True


async def coordinator_of(session: AsyncSession, subject: str) -> str | None:
    statement = select(CareTeamMember.agency_code).where(
        CareTeamMember.subject_pseudonym == subject, CareTeamMember.coordinator.is_(True)
    )
    return (await session.scalars(statement)).first()
