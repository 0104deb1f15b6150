"""What a duty team has to act on: its agency's open escalations and the urgent-lane deliveries
(urgent, emergency, any crisis) it has not acknowledged, most urgent first.

A triage list: event type, urgency, who and how late, never the payload or the NHS number.
The content is read in the agency's own record system.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import Agency, Delivery, DeliveryChannel, Escalation, Message
from broker.deliveries.dead_letters import dead_letters
from broker.escalations.views import escalations_for
from broker.pipeline.lanes import Lane, lane_of
from broker.timeframes.spoken import spoken
from schemas.dead_letters import DeadLetter
from schemas.escalations import EscalationView, TeamContact
from schemas.vocabulary import DeliveryStatus, EscalationStatus, Urgency

# A queue longer than this is a major incident, not a night shift: show the most urgent.
MOST_SHOWN = 200
DEAD_LETTERS_SHOWN = 20
AWAITING_ACK = (
    DeliveryStatus.PENDING.value,
    DeliveryStatus.DELIVERED.value,
    DeliveryStatus.RECEIVED.value,
    DeliveryStatus.EXPIRED.value,
)
_URGENCY_RANK = {Urgency.EMERGENCY.value: 0, Urgency.URGENT.value: 1}


@dataclass(frozen=True)
class DutyItem:
    kind: Literal["escalation", "delivery"]
    id: UUID
    event_type: str
    urgency: str
    sender: str
    sender_name: str
    recipient: str
    deadline: datetime | None  # the missed one for an escalation, ack_by for a delivery
    delivery_status: str
    reference: str | None = None  # escalations only
    route: str | None = None  # escalations only: duty_team | coordinator
    breach: str | None = None  # escalations only: delivery | acknowledgement
    recipient_name: str | None = None  # escalations only
    sender_duty_team: TeamContact | None = None  # escalations only: whom to call back
    alert_id: UUID | None = None  # escalations only: the delivery it escalates
    named_lead: str | None = None  # coordinator steps: the agency's lead for the person
    escalated_as: tuple[str, ...] = ()  # deliveries only: this agency's open escalations
    # Escalations only: the agency's own unacknowledged alert it escalates, shown inside the
    # escalation rather than again in the list.
    alert: "DutyItem | None" = None

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"

    @property
    def lane(self) -> Lane:
        return lane_of(self.event_type, self.urgency)

    @property
    def version(self) -> str:
        """Changes when the item reads differently (not as time passes), so a live page
        replaces it only then."""
        inner = (self.alert.version,) if self.alert else ()
        return "|".join((self.delivery_status, *self.escalated_as, *inner))

    @property
    def can_acknowledge(self) -> bool:
        """A delivery still on its way is not in the agency's inbox yet."""
        return self.kind == "escalation" or self.delivery_status != DeliveryStatus.PENDING


@dataclass(frozen=True)
class DutyQueue:
    items: list[DutyItem]
    escalations: int
    deliveries: int
    truncated: bool
    # What kept deliveries from the agency's record system: its channel, if IMB turned it
    # off, and the pushes that ran out of retries (each still in the inbox).
    channel_off: DeliveryChannel | None = None
    dead_letters: list[DeadLetter] = field(default_factory=list)


def most_urgent_first(items: list[DutyItem], now: datetime) -> list[DutyItem]:
    """The urgent lane before the routine one; in each, overdue before in time, then the
    earliest deadline; emergency before urgent, and an escalation just before its own
    delivery, at the same deadline."""

    def rank(item: DutyItem) -> tuple[int, int, datetime, int, int, str]:
        deadline = item.deadline or datetime.max.replace(tzinfo=now.tzinfo)
        overdue = item.deadline is not None and item.deadline <= now
        return (
            0 if item.lane is Lane.URGENT else 1,
            0 if overdue else 1,
            deadline,
            _URGENCY_RANK.get(item.urgency, 2),
            0 if item.kind == "escalation" else 1,
            item.key,
        )

    return sorted(items, key=rank)


def each_alert_once(ordered: list[DutyItem]) -> list[DutyItem]:
    """An escalated alert goes inside its most urgent escalation, so the worker meets it
    once, with the reason it is late beside it; an alert whose escalation is another
    agency's (or closed) stays in the list on its own."""
    alerts = {item.id: item for item in ordered if item.kind == "delivery"}
    nested: set[UUID] = set()
    shown: list[DutyItem] = []
    for item in ordered:
        if item.kind == "escalation" and item.alert_id in alerts and item.alert_id not in nested:
            nested.add(item.alert_id)
            item = replace(item, alert=alerts[item.alert_id])
        shown.append(item)
    return [item for item in shown if item.kind == "escalation" or item.id not in nested]


def time_left(deadline: datetime | None, now: datetime) -> str:
    """'12 min left' or 'overdue by 4 min'; seconds under a minute, hours beyond an hour.
    The page's script words it the same way as time passes."""
    if deadline is None:
        return "no deadline"
    remaining = deadline - now
    if remaining > timedelta(0):
        return f"{spoken(remaining)} left"
    return f"overdue by {spoken(-remaining)}"


async def duty_queue(session: AsyncSession, agency: str, now: datetime) -> DutyQueue:
    escalations = await escalations_for(
        session, agency, EscalationStatus.OPEN, now, limit=MOST_SHOWN
    )
    refs: dict[UUID, list[str]] = {}
    for view in escalations:
        refs.setdefault(view.delivery.delivery_id, []).append(view.reference)
    deliveries = await unacknowledged_deliveries(session, agency)
    alerts = [
        _delivery_item(delivery, message, sender, tuple(refs.get(delivery.id, ())))
        for delivery, message, sender in deliveries
    ]
    items = [_escalation_item(view) for view in escalations] + alerts
    channel = await session.get(DeliveryChannel, agency)
    return DutyQueue(
        items=each_alert_once(most_urgent_first(items, now)),
        escalations=len(escalations),
        deliveries=len(deliveries),
        truncated=MOST_SHOWN in (len(escalations), len(deliveries)),
        channel_off=channel if channel is not None and not channel.enabled else None,
        dead_letters=await dead_letters(session, agency, limit=DEAD_LETTERS_SHOWN),
    )


async def unacknowledged_deliveries(
    session: AsyncSession, agency: str
) -> list[tuple[Delivery, Message, Agency]]:
    statement = (
        select(Delivery, Message, Agency)
        .join(Message, Message.id == Delivery.message_id)
        .join(Agency, Agency.code == Message.sender_agency)
        .where(
            Delivery.recipient_agency == agency,
            Delivery.status.in_(AWAITING_ACK),
            Delivery.acknowledged_at.is_(None),
            Delivery.lane == Lane.URGENT.value,
        )
        .order_by(Delivery.ack_by.asc().nulls_last(), Delivery.id)
        .limit(MOST_SHOWN)
    )
    return [(d, m, a) for d, m, a in (await session.execute(statement)).all()]


def _escalation_item(view: EscalationView) -> DutyItem:
    delivery, lead = view.delivery, view.coordinator
    return DutyItem(
        kind="escalation",
        id=view.id,
        event_type=delivery.event_type,
        urgency=delivery.urgency,
        sender=view.sender.agency,
        sender_name=view.sender.name,
        recipient=delivery.recipient_agency,
        deadline=view.deadline,
        delivery_status=delivery.status,
        reference=view.reference,
        route=view.route.value,
        breach=view.breach.value,
        recipient_name=delivery.recipient_name,
        sender_duty_team=view.sender.duty_team,
        alert_id=delivery.delivery_id,
        named_lead=f"{lead.named_lead} ({lead.role})" if lead else None,
    )


def _delivery_item(
    delivery: Delivery, message: Message, sender: Agency, escalated_as: tuple[str, ...]
) -> DutyItem:
    return DutyItem(
        kind="delivery",
        id=delivery.id,
        event_type=message.type,
        urgency=message.urgency,
        sender=sender.code,
        sender_name=sender.name,
        recipient=delivery.recipient_agency,
        deadline=delivery.ack_by,
        delivery_status=delivery.status,
        escalated_as=escalated_as,
    )


async def acknowledged_escalation(
    session: AsyncSession, agency: str, escalation_id: UUID
) -> Escalation | None:
    """The agency's own escalation once closed, for the message after an acknowledgement."""
    found = await session.get(Escalation, escalation_id)
    if found is None or found.agency_code != agency or found.outcome is None:
        return None
    return found


async def acknowledged_delivery(
    session: AsyncSession, agency: str, delivery_id: UUID
) -> tuple[Delivery, Message] | None:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.recipient_agency != agency or delivery.ack_outcome is None:
        return None
    message = await session.get(Message, delivery.message_id)
    return None if message is None else (delivery, message)
