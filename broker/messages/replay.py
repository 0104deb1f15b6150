"""ReplayMessage: send a message again to its recipients, each decided afresh.

The sender asks, with a reason. Every recipient the message had is decided **now**, on the
agreements, consents, care team and crisis plans as they stand: a recipient the decision now
denies gets nothing (a withheld delivery with the reason, which the sender sees), one it
permits gets a new delivery through the pipeline as any other (deadlines, seq, push). Each new
delivery names the one it replays (`replay_of`); a delivery is replayed at most once, so a
second replay replays the first replay. Two replays of one message at once are taken in turn
(the message's row is locked): the second replays the first's deliveries.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from broker.audit.log import Actor, AuditEvent, append_about_delivery
from broker.crisis_plans.routing import plan_activated
from broker.db.models import Delivery, Message
from broker.errors import Conflict, NotFound
from broker.messages.views import recipient_view
from broker.pipeline.lanes import Lane
from broker.pipeline.notices import announce
from broker.pipeline.route import ROUTED, BatchReads, decide_and_record
from broker.runtime import Runtime
from schemas.replays import Replayed


async def replay_message(
    session: AsyncSession, rt: Runtime, actor: Actor, message_id: UUID, reason: str
) -> Replayed:
    # FOR NO KEY UPDATE, not FOR UPDATE: it still takes two replays in turn, but lets a
    # dispatcher that holds one of the message's deliveries check its foreign keys to the
    # message (FOR KEY SHARE) meanwhile. FOR UPDATE made that a deadlock on PostgreSQL.
    message = await session.get(Message, message_id, with_for_update={"key_share": True})
    # Only the sender may: to anyone else another agency's message does not exist.
    if message is None or message.sender_agency != actor.agency:
        raise NotFound(f"no message {message_id}")
    if message.status != ROUTED:
        raise Conflict(f"message {message_id} has not been delivered to anyone to replay to")
    replaying = {d.recipient_agency: d.id for d in await _latest_deliveries(session, message_id)}
    reads = BatchReads(session)
    await reads.load_policies()
    await reads.load_subjects({message.subject_pseudonym})
    plan = plan_activated(message.type, reads.crisis_plans.get(message.subject_pseudonym))
    decided = await decide_and_record(
        session, rt, message, sorted(replaying), reads, plan, replaying
    )
    await reads.rows.insert(session)
    now = rt.clock()
    for delivery_id, _ in decided.values():
        # One record per new delivery, not one naming them all: a recipient reads the records
        # of its own deliveries, and must not learn who else the message went to.
        append_about_delivery(
            session,
            AuditEvent.EVENT_REPLAYED,
            actor,
            now,
            message,
            delivery_id,
            detail={"reason": reason},
        )
    await announce(session, [Lane(message.lane)])
    return Replayed(
        message_id=message.id,
        replayed_at=now,
        reason=reason,
        recipients=await _views(session, [d for d, _ in decided.values()], now),
    )


async def _latest_deliveries(session: AsyncSession, message_id: UUID) -> list[Delivery]:
    """Each recipient's latest delivery of the message: the one no delivery replays yet."""
    successor = aliased(Delivery)
    statement = (
        select(Delivery)
        .where(
            Delivery.message_id == message_id,
            ~select(successor.id).where(successor.replay_of == Delivery.id).exists(),
        )
        .order_by(Delivery.id)
        .with_for_update(of=Delivery)
    )
    return list((await session.scalars(statement)).all())


async def _views(
    session: AsyncSession, delivery_ids: list[UUID], now: datetime
) -> list[dict[str, object]]:
    deliveries = await session.scalars(
        select(Delivery).where(Delivery.id.in_(delivery_ids)).order_by(Delivery.recipient_agency)
    )
    return [recipient_view(d, now) for d in deliveries]
