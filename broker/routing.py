"""RouteMessage: who receives a message, the consent decision for each, and their deliveries.

Idempotent: a message already routed is not routed again, so a replayed Kafka record changes
nothing. Deliveries, their audit records and their outbox entries commit together.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from consent.decide import decide
from consent.model import ConsentRecord, Decision, DecisionRequest
from sqlalchemy.ext.asyncio import AsyncSession

from broker.agreements.repository import versions_naming
from broker.audit.log import BROKER, AuditEvent, append
from broker.crypto.envelope import Sealed, delivery_ad, message_ad, open_sealed, seal
from broker.db.models import Delivery, Message
from broker.outbox import delivery_record, enqueue
from broker.runtime import Runtime
from broker.subjects.repository import care_team_agencies, consent_history, to_consent_record
from schemas.vocabulary import DeliveryStatus, Purpose

ROUTED = "routed"
NO_RECIPIENTS = "no_recipients"


@dataclass(frozen=True)
class Routed:
    message_id: UUID
    permitted: int
    withheld: int


async def route_message(session: AsyncSession, rt: Runtime, message_id: UUID) -> Routed | None:
    """Route one accepted message; None when there is nothing (more) to do for it."""
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None or message.status != "accepted":
        return None
    recipients = await recipients_of(session, message)
    now = rt.clock()
    if not recipients:
        _record_unroutable(session, message, now)
        return Routed(message.id, 0, 0)
    consents = [
        to_consent_record(r) for r in await consent_history(session, message.subject_pseudonym)
    ]
    decisions = {r: await _decide(session, message, r, consents, now) for r in recipients}
    content = _open_content(rt, message)
    for recipient, decision in decisions.items():
        _create_delivery(session, rt, message, recipient, decision, content)
    message.status, message.routed_at = ROUTED, now
    permitted = sum(d.permitted for d in decisions.values())
    return Routed(message.id, permitted, len(decisions) - permitted)


async def recipients_of(session: AsyncSession, message: Message) -> list[str]:
    """The explicit recipients, else the subject's care team minus the sender."""
    if message.explicit_recipients is not None:
        return list(message.explicit_recipients)
    team = await care_team_agencies(session, message.subject_pseudonym)
    return [agency for agency in team if agency != message.sender_agency]


async def _decide(
    session: AsyncSession,
    message: Message,
    recipient: str,
    consents: list[ConsentRecord],
    now: datetime,
) -> Decision:
    agreements = await versions_naming(session, message.sender_agency, recipient)
    request = DecisionRequest(
        sender=message.sender_agency,
        recipient=recipient,
        event_type=message.type,
        purpose=Purpose(message.purpose),
        at=now,  # the agreements and consents in force at the moment of routing
    )
    return decide(request, agreements, consents)


def _open_content(rt: Runtime, message: Message) -> bytes:
    sealed = Sealed.from_bytes(message.content_sealed)
    return open_sealed(rt.keys.key_provider, sealed, message_ad(message.id))


def _create_delivery(
    session: AsyncSession,
    rt: Runtime,
    message: Message,
    recipient: str,
    decision: Decision,
    content: bytes,
) -> None:
    now = rt.clock()
    status = DeliveryStatus.PENDING if decision.permitted else DeliveryStatus.WITHHELD
    delivery = Delivery(
        id=uuid4(),
        message_id=message.id,
        recipient_agency=recipient,
        status=status.value,
        decision=decision.outcome.value,
        decision_detail=decision.to_dict(),
        created_at=now,
    )
    session.add(delivery)
    append(
        session,
        AuditEvent.DELIVERY_DECIDED,
        BROKER,
        now,
        message_id=message.id,
        delivery_id=delivery.id,
        subject=message.subject_pseudonym,
        detail={"recipient": recipient, "status": status.value, **decision.to_dict()},
    )
    rt.metrics.deliveries_decided.labels(decision.outcome.value).inc()
    if decision.permitted:
        sealed = seal(rt.keys.key_provider, content, delivery_ad(message.id, recipient))
        record = delivery_record(delivery, message, sealed)
        enqueue(session, rt.settings.kafka.deliveries_topic, recipient, record, now)


def _record_unroutable(session: AsyncSession, message: Message, now: datetime) -> None:
    message.status, message.routed_at = NO_RECIPIENTS, now
    append(
        session,
        AuditEvent.EVENT_UNROUTABLE,
        BROKER,
        now,
        message_id=message.id,
        subject=message.subject_pseudonym,
        detail={"reason": "no_recipients"},
    )
