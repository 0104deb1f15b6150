"""Dead letters: webhook pushes whose retries ran out. Listing them and re-driving one.

Who may: the recipient agency for its own, an administrator for every agency's. To anyone
else another agency's dead letter does not exist (404).
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append_about_delivery
from broker.db.models import Delivery, DeliveryChannel, Message, WebhookAttempt, WebhookPush
from broker.deliveries.inbox import entry_of
from broker.deliveries.push import DEAD_LETTERED, PUSHED_BY, WITHDRAWN, queue_again
from broker.errors import Conflict, NotFound
from broker.runtime import Runtime
from schemas.dead_letters import DeadLetter

PAGE = 200
# A push withdrawn after a 410 (or a channel changed) can be sent again once the channel is back.
REDRIVABLE = {DEAD_LETTERED, WITHDRAWN}


async def dead_letters(
    session: AsyncSession, visible_agency: str | None, limit: int = PAGE
) -> list[DeadLetter]:
    """The dead letters the caller may see, newest first: pushes whose retries ran out, and
    those withdrawn when the channel was turned off or changed (`state` says which)."""
    last = (
        select(WebhookAttempt.delivery_id, func.max(WebhookAttempt.id).label("attempt_id"))
        .group_by(WebhookAttempt.delivery_id)
        .subquery()
    )
    statement = (
        select(WebhookPush, Message.id, Message.type, WebhookAttempt)
        .join(Delivery, Delivery.id == WebhookPush.delivery_id)
        .join(Message, Message.id == Delivery.message_id)
        # Withdrawn before its turn, a push has no attempt.
        .outerjoin(last, last.c.delivery_id == WebhookPush.delivery_id)
        .outerjoin(WebhookAttempt, WebhookAttempt.id == last.c.attempt_id)
        .where(WebhookPush.state.in_(REDRIVABLE))
        .order_by(func.coalesce(WebhookAttempt.at, WebhookPush.created_at).desc())
        .limit(limit)
    )
    if visible_agency is not None:
        statement = statement.where(WebhookPush.agency_code == visible_agency)
    return [
        DeadLetter(
            delivery_id=push.delivery_id,
            message_id=message_id,
            type=message_type,
            agency=push.agency_code,
            attempts=push.attempts,
            last_status_code=attempt.status_code if attempt else None,
            last_error=attempt.error if attempt else None,
            dead_lettered_at=attempt.at if attempt else push.created_at,
            state=push.state,
        )
        for push, message_id, message_type, attempt in (await session.execute(statement)).all()
    ]


async def redrive(
    session: AsyncSession, rt: Runtime, actor: Actor, visible_agency: str | None, delivery_id: UUID
) -> datetime:
    """Push a dead letter again, with a fresh budget of retries; audited. Anything but a dead
    letter is a 409 (a push received or still being retried needs no redrive)."""
    push = await session.get(WebhookPush, delivery_id, with_for_update=True)
    if push is None or visible_agency not in (None, push.agency_code):
        raise NotFound(f"no dead letter {delivery_id}")
    if push.state not in REDRIVABLE:
        raise Conflict(f"delivery {delivery_id} is not a dead letter (its push is {push.state})")
    now = rt.clock()
    # By the channel the agency has now: one withdrawn when it changed goes the new way.
    channel = await session.get(DeliveryChannel, push.agency_code)
    kind = channel.kind if channel is not None and channel.kind in PUSHED_BY else push.channel
    queue_again(session, push, delivery_id, push.agency_code, kind, now)
    entry = await entry_of(session, delivery_id)
    append_about_delivery(
        session,
        AuditEvent.DELIVERY_REDRIVEN,
        actor,
        now,
        entry.message,
        delivery_id,
        detail={"recipient": push.agency_code},
    )
    return now
