"""CheckDeadlines: one pass of the deadline monitor over the database.

Deadlines live only in the database, so a monitor that restarts, or another one alongside it,
finds every breach the first never saw. One pass is one transaction: the breaches it claims,
their audit records, escalations and reports commit together or not at all.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, append_about_delivery
from broker.db.models import Delivery, Message
from broker.deadlines.escalate import route_started, run_next_step
from broker.deadlines.repository import (
    claim_breach,
    due_steps,
    late_deliveries,
    unacknowledged,
)
from broker.deadlines.route import Breach, latest_breach
from broker.logs import after_commit, get_logger
from broker.runtime import Runtime
from schemas.vocabulary import BreachKind, DeliveryStatus

log = get_logger(__name__)

# Made available but not acknowledged in time: "expired" (docs/timeframes.md). A pending delivery
# stays pending, so that the dispatcher still delivers it.
_EXPIRES = {DeliveryStatus.DELIVERED.value, DeliveryStatus.RECEIVED.value}


@dataclass(frozen=True)
class Checked:
    delivery_breaches: int
    ack_breaches: int
    steps_run: int
    more_waiting: bool  # a scan filled its batch: look again without pausing


async def check_deadlines(rt: Runtime) -> Checked:
    now, batch = rt.clock(), rt.settings.deadlines.batch_size
    async with rt.db.unit_of_work() as session:
        late = await late_deliveries(session, now, batch)
        by_delivery = await _breaches(session, rt, late, BreachKind.DELIVERY, now)
        unacked = await unacknowledged(session, now, batch)
        by_ack = await _breaches(session, rt, unacked, BreachKind.ACKNOWLEDGEMENT, now)
        due = await due_steps(session, now, batch)
        later_steps = sum([await _next_step(session, rt, d, m, now) for d, m in due])
        await session.commit()
    return Checked(
        delivery_breaches=by_delivery.claimed,
        ack_breaches=by_ack.claimed,
        steps_run=by_delivery.steps_run + by_ack.steps_run + later_steps,
        more_waiting=batch in (len(late), len(unacked), len(due)),
    )


class _Claimed(NamedTuple):
    claimed: int
    steps_run: int  # the first steps of the routes these breaches started


async def _breaches(
    session: AsyncSession,
    rt: Runtime,
    found: list[tuple[Delivery, Message]],
    kind: BreachKind,
    now: datetime,
) -> _Claimed:
    claimed = steps_run = 0
    for delivery, message in found:
        if await claim_breach(session, delivery, kind, now):
            breach = _breach(delivery, kind, now)
            steps_run += await _on_breach(session, rt, delivery, message, breach)
            claimed += 1
    return _Claimed(claimed, steps_run)


def _breach(delivery: Delivery, kind: BreachKind, now: datetime) -> Breach:
    deadline = delivery.deliver_by if kind is BreachKind.DELIVERY else delivery.ack_by
    assert deadline is not None
    return Breach(kind, deadline, now)


async def _on_breach(
    session: AsyncSession, rt: Runtime, delivery: Delivery, message: Message, breach: Breach
) -> int:
    if breach.kind is BreachKind.ACKNOWLEDGEMENT and delivery.status in _EXPIRES:
        delivery.status = DeliveryStatus.EXPIRED.value
    _record_breach(session, rt, delivery, message, breach)
    if route_started(delivery):
        return 0
    return await run_next_step(session, rt, delivery, message, breach, breach.detected_at)


async def _next_step(
    session: AsyncSession, rt: Runtime, delivery: Delivery, message: Message, now: datetime
) -> int:
    return await run_next_step(session, rt, delivery, message, latest_breach(delivery), now)


def _record_breach(
    session: AsyncSession, rt: Runtime, delivery: Delivery, message: Message, breach: Breach
) -> None:
    append_about_delivery(
        session,
        AuditEvent.DELIVERY_BREACHED,
        BROKER,
        breach.detected_at,
        message,
        delivery.id,
        detail={
            "recipient": delivery.recipient_agency,
            "breach": breach.kind.value,
            "deadline": breach.deadline.isoformat(),
            "detected_at": breach.detected_at.isoformat(),
            "late_seconds": breach.late_seconds,
            "event_type": message.type,
            "urgency": message.urgency,
            "status": delivery.status,
        },
    )
    rt.metrics.deadline_breaches.labels(breach.kind.value, message.type).inc()
    after_commit(
        session,
        log,
        "delivery.breached",
        message_id=str(message.id),
        delivery_id=str(delivery.id),
        recipient=delivery.recipient_agency,
        breach=breach.kind.value,
        late_seconds=breach.late_seconds,
    )
