"""RedeliverDelivery: the recipient asks for a delivery to be pushed to it again.

For a record system that lost what it was pushed (restored from a backup, say): the delivery
is pushed again by the agency's channel as it is now, with a fresh budget of retries, and the
request is audited. The delivery itself is unchanged; its receipt and acknowledgement stand.
Who may: the recipient agency, or an administrator; to anyone else another agency's delivery
does not exist (404), as a withheld one does not to its would-be recipient.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append_about_delivery
from broker.db.models import Delivery, DeliveryChannel, Message, WebhookPush
from broker.deliveries.push import PENDING, PUSHED_BY, queue_again
from broker.errors import Conflict, NotFound
from broker.runtime import Runtime
from schemas.replays import Redelivering
from schemas.vocabulary import DeliveryStatus

NOT_YET_AVAILABLE = {DeliveryStatus.PENDING.value}


async def redeliver(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    visible_agency: str | None,
    delivery_id: UUID,
    reason: str | None,
) -> Redelivering:
    # Not locked: a redelivery changes the push, not the delivery (and pushers lock the push
    # before the delivery, so taking them the other way round here could deadlock).
    delivery = await session.get(Delivery, delivery_id)
    if (
        delivery is None
        or visible_agency not in (None, delivery.recipient_agency)
        or delivery.status == DeliveryStatus.WITHHELD.value
    ):
        raise NotFound(f"no delivery {delivery_id}")
    if delivery.status in NOT_YET_AVAILABLE:
        raise Conflict(f"delivery {delivery_id} is not available yet: it is pushed when it is")
    channel = await session.get(DeliveryChannel, delivery.recipient_agency)
    if channel is None or channel.kind not in PUSHED_BY or not channel.enabled:
        raise Conflict(
            f"agency {delivery.recipient_agency} has no working push channel: "
            "read the delivery from the inbox"
        )
    push = await session.get(WebhookPush, delivery_id, with_for_update=True)
    if push is not None and push.state == PENDING:
        raise Conflict(f"delivery {delivery_id} is being pushed already")
    now = rt.clock()
    queue_again(session, push, delivery_id, delivery.recipient_agency, channel.kind, now)
    message = await session.get(Message, delivery.message_id)
    assert message is not None
    append_about_delivery(
        session,
        AuditEvent.DELIVERY_REDELIVERY_ASKED,
        actor,
        now,
        message,
        delivery_id,
        detail={"recipient": delivery.recipient_agency, "channel": channel.kind}
        | ({"reason": reason} if reason else {}),
    )
    return Redelivering(delivery_id=delivery_id, channel=channel.kind, next_attempt_at=now)
