"""ReportNonDelivery: tell the sender's agency that a recipient missed a deadline.

Like MESH's non-delivery report, but about a business acknowledgement and in hours. The report
is a message from the broker in the sender's own inbox. It needs no sharing agreement: it
carries no clinical data (who, which event, which deadline) and goes back to the agency that
sent the data in the first place. Its id is derived from the delivery and the breach, so the
unique key on messages makes a second report of the same breach impossible.
"""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, append_about_delivery
from broker.crypto.envelope import message_ad, seal
from broker.crypto.pseudonym import canonical_json, payload_digest
from broker.db.models import Agency, Delivery, Message
from broker.deliveries.available import made_available
from broker.messages.submit import find_by_sender_event
from broker.pipeline.route import ROUTED
from broker.runtime import Runtime
from consent.model import Decision
from schemas.vocabulary import BreachKind, DecisionOutcome, DeliveryStatus

REPORT_TYPE = "report.unacknowledged"
BROKER_CLIENT = "imb:broker"
_REPORT_IDS = UUID("10c52a3b-aa15-4a60-a9f1-1d4c4d231871")
_NO_AGREEMENT_NEEDED = Decision(
    outcome=DecisionOutcome.PERMIT,
    reason=None,
    agreement_id=None,
    agreement_version=None,
    bases=("broker_report",),
    consent_record_ids=(),
    explanation=(
        "A report from the broker to the agency that sent the event: it carries no clinical "
        "data and goes back to the data's own sender, so no sharing agreement is needed."
    ),
)


def report_event_id(delivery_id: UUID, breach: BreachKind) -> UUID:
    return uuid5(_REPORT_IDS, f"{delivery_id}:{breach.value}")


async def report_non_delivery(
    session: AsyncSession,
    rt: Runtime,
    original: Message,
    delivery: Delivery,
    breach: BreachKind,
    progress: DeliveryStatus,
) -> Message | None:
    """The report in the sender's inbox; None if this breach was already reported."""
    event_id = report_event_id(delivery.id, breach)
    if await find_by_sender_event(session, original.sender_agency, event_id) is not None:
        return None
    now = rt.clock()
    payload = await _payload(session, original, delivery, breach, progress)
    report = _report_message(rt, original, event_id, payload, _explanation(delivery, breach))
    session.add(report)
    await session.flush()  # the delivery's foreign key needs the message row first
    inbox_item = _to_sender(report, now)
    session.add(inbox_item)
    await session.flush()
    # In the sender's inbox at once: numbered, pushed and announced as any delivery made
    # available is.
    await made_available(session, now, [(inbox_item.id, report.sender_agency)])
    _audit(session, original, delivery, report, inbox_item, breach)
    return report


async def _payload(
    session: AsyncSession,
    original: Message,
    delivery: Delivery,
    breach: BreachKind,
    progress: DeliveryStatus,
) -> dict[str, Any]:
    recipient = await session.get(Agency, delivery.recipient_agency)
    return {
        "original_message_id": str(original.id),
        "original_event_id": str(original.sender_event_id),
        "event_type": original.type,
        "urgency": original.urgency,
        "recipient": delivery.recipient_agency,
        "recipient_name": recipient.name if recipient else None,
        "breach": breach.value,
        "deliver_by": _iso(delivery.deliver_by),
        "ack_by": _iso(delivery.ack_by),
        "status_at_breach": progress.value,
    }


def _explanation(delivery: Delivery, breach: BreachKind) -> str:
    recipient = delivery.recipient_agency
    if breach is BreachKind.DELIVERY:
        return f"Non-delivery report: the event was not delivered to {recipient} by its deadline."
    return f"Non-delivery report: {recipient} did not acknowledge the event by its deadline."


def _report_message(
    rt: Runtime, original: Message, event_id: UUID, payload: dict[str, Any], explanation: str
) -> Message:
    now, report_id = rt.clock(), uuid4()
    # Sealed like every message's content, and in the same shape, so the inbox reads it as any.
    content = {
        "payload": payload,
        "reason_for_sharing": explanation,
        "local_id": None,
        "override": None,
    }
    digest_key = rt.keys.digest_key
    return Message(
        id=report_id,
        sender_agency=original.sender_agency,
        sender_client=BROKER_CLIENT,
        sender_event_id=event_id,
        type=REPORT_TYPE,
        occurred_at=now,
        received_at=now,
        subject_pseudonym=original.subject_pseudonym,
        purpose=original.purpose,
        urgency=original.urgency,
        override_reason=None,
        explicit_recipients=[original.sender_agency],
        content_sealed=seal(
            rt.keys.key_provider, canonical_json(content), message_ad(report_id)
        ).to_bytes(),
        body_digest=payload_digest(digest_key, canonical_json(content)),
        payload_digest=payload_digest(digest_key, canonical_json(payload)),
        status=ROUTED,
        routed_at=now,
    )


def _to_sender(report: Message, now: datetime) -> Delivery:
    """Already in the inbox, and with no deadlines: a report is never itself reported late."""
    return Delivery(
        id=uuid4(),
        message_id=report.id,
        recipient_agency=report.sender_agency,
        status=DeliveryStatus.DELIVERED.value,
        decision=DecisionOutcome.PERMIT.value,
        decision_detail=_NO_AGREEMENT_NEEDED.to_dict(),
        created_at=now,
        delivered_at=now,
        escalation_step=0,
    )


def _audit(
    session: AsyncSession,
    original: Message,
    delivery: Delivery,
    report: Message,
    inbox_item: Delivery,
    breach: BreachKind,
) -> None:
    now = report.received_at
    append_about_delivery(
        session,
        AuditEvent.REPORT_UNACKNOWLEDGED,
        BROKER,
        now,
        original,
        delivery.id,
        detail={
            "report_message_id": str(report.id),
            "report_delivery_id": str(inbox_item.id),
            "sender": original.sender_agency,
            "recipient": delivery.recipient_agency,
            "breach": breach.value,
        },
    )
    append_about_delivery(
        session,
        AuditEvent.DELIVERY_DELIVERED,
        BROKER,
        now,
        report,
        inbox_item.id,
        payload_digest=report.payload_digest,
        detail={
            "recipient": inbox_item.recipient_agency,
            "channel": "inbox",
            "report_of": str(original.id),
        },
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
