"""Escalations for the tests: an event routed in this process, and an escalation opened on
one of its deliveries as the deadline monitor opens one when a deadline passes."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select

from broker.db.models import Delivery, Message
from broker.escalations.service import open_escalation
from schemas.vocabulary import BreachKind, EscalationStep
from tests.integration.deadlines import routed_here
from tests.world import NHS_NUMBER, TRUST, World, risk_event

# Distinctive text the event carries, which no escalation view or notice may repeat.
RATIONALE = "Stopped lithium after the funeral; sleeping in the car park."
REASON = "Crisis plan review: partners must change visiting arrangements today."
LOCAL_ID = "MRN-77123"


@dataclass(frozen=True)
class Opened:
    id: str
    reference: str
    delivery_id: str
    message_id: str


def stop_the_clock(world: World) -> datetime:
    """Fix the runtime's clock at a whole second, so lateness reads exactly."""
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    world.rt.clock = lambda: moment
    return moment


async def routed(world: World, recipients: list[str], **event: Any) -> UUID:
    """An event from the trust, accepted and routed here: its deliveries wait, pending."""
    payload = {**risk_event()["payload"], "rationale": RATIONALE}
    body = {
        "recipients": recipients,
        "reason_for_sharing": REASON,
        "subject": {"nhs_number": NHS_NUMBER, "local_id": LOCAL_ID},
        "payload": payload,
        **event,
    }
    return await routed_here(world, TRUST, risk_event(**body))


async def escalate(
    world: World,
    message_id: UUID,
    recipient: str,
    *,
    late: timedelta,
    to: str | None = None,
    route: EscalationStep = EscalationStep.DUTY_TEAM,
    step: int = 1,
) -> Opened:
    """An open escalation of the delivery to `recipient`, for `to`'s team (the recipient's
    own by default), whose acknowledgement deadline passed `late` before the clock's now."""
    async with world.rt.db.unit_of_work() as session:
        message = await session.get(Message, message_id)
        delivery = await session.scalar(
            select(Delivery).where(
                Delivery.message_id == message_id, Delivery.recipient_agency == recipient
            )
        )
        assert message is not None
        assert delivery is not None
        item = open_escalation(
            session,
            world.rt,
            message,
            delivery,
            step=step,
            route=route,
            agency=to or recipient,
            breach=BreachKind.ACKNOWLEDGEMENT,
            deadline=world.rt.clock() - late,
        )
        await session.commit()
    return Opened(str(item.id), item.reference, str(delivery.id), str(message_id))
