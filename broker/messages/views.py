"""What a sender sees of its message, and the audit trail of a message."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import AuditEvent
from broker.db.models import AuditRecord, Delivery, Message, Override
from broker.decisions.disclosure import disclosed
from broker.errors import NotFound
from broker.overrides.repository import overrides_of_message
from broker.subjects.access import persons_known_to


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def message_status(
    session: AsyncSession, sender: str, message_id: UUID, now: datetime
) -> dict[str, Any]:
    message = await session.get(Message, message_id)
    if message is None or message.sender_agency != sender:
        raise NotFound(f"no message {message_id}")
    deliveries = (
        await session.scalars(
            select(Delivery)
            .where(Delivery.message_id == message_id)
            .order_by(Delivery.recipient_agency)
        )
    ).all()
    overrides = await overrides_of_message(session, message_id)
    known = bool(await persons_known_to(session, sender, {message.subject_pseudonym}))
    return {
        "message_id": str(message.id),
        "event_id": str(message.sender_event_id),
        "type": message.type,
        "status": message.status,
        "purpose": message.purpose,
        "urgency": message.urgency,
        "occurred_at": _iso(message.occurred_at),
        "received_at": _iso(message.received_at),
        "routed_at": _iso(message.routed_at),
        "recipients": [recipient_view(d, now, overrides.get(d.id), known) for d in deliveries],
    }


def breached(delivery: Delivery, now: datetime) -> bool:
    """A deadline passed before the step it is for: still missing, or done late.

    Once missed, a deadline stays missed: a late acknowledgement ends the escalation, not
    the record that the person's alert waited too long.
    """
    if delivery.delivery_breached_at is not None or delivery.ack_breached_at is not None:
        return True
    return _late(delivery.deliver_by, delivery.delivered_at, now) or _late(
        delivery.ack_by, delivery.acknowledged_at, now
    )


def _late(deadline: datetime | None, done_at: datetime | None, now: datetime) -> bool:
    return deadline is not None and (done_at or now) > deadline


def recipient_view(
    delivery: Delivery, now: datetime, override: Override | None = None, known: bool = True
) -> dict[str, Any]:
    """One recipient's delivery; `known`: whether the viewer keeps the person's consent
    records, and so may see what of the decision rests on them (broker.decisions.disclosure)."""
    detail = disclosed(delivery.decision_detail, known)
    obligations = detail.get("obligations") or {}
    return {
        "agency": delivery.recipient_agency,
        "delivery_id": str(delivery.id),
        "decision": delivery.decision,
        "reason": detail.get("reason"),
        "agreement_id": detail.get("agreement_id"),
        "agreement_version": detail.get("agreement_version"),
        "bases": detail.get("bases", []),
        "explanation": detail.get("explanation"),
        "consent_record_ids": detail.get("consent_record_ids", []),
        "redacted": obligations.get("redact", []),
        "override": override_flag(override),
        "crisis_plan_id": str(delivery.crisis_plan_id) if delivery.crisis_plan_id else None,
        "replay_of": str(delivery.replay_of) if delivery.replay_of else None,
        "status": delivery.status,
        "deliver_by": _iso(delivery.deliver_by),
        "ack_by": _iso(delivery.ack_by),
        "decided_at": _iso(delivery.created_at),
        "delivered_at": _iso(delivery.delivered_at),
        "received_at": _iso(delivery.received_at),
        "acknowledged_at": _iso(delivery.acknowledged_at),
        "outcome": delivery.ack_outcome,
        "reason_code": delivery.ack_reason_code,
        "breached": breached(delivery, now),
    }


def override_flag(override: Override | None) -> dict[str, Any] | None:
    """That the person's refusal was overridden for this recipient, and where its review is."""
    if override is None:
        return None
    return {
        "id": str(override.id),
        "reason": override.reason,
        "authorised_by": override.authorised_by,
        "review_status": override.status,
        "review_outcome": override.outcome,
    }


async def message_trail(
    session: AsyncSession, message_id: UUID, viewer: str | None
) -> list[dict[str, Any]]:
    """The ordered audit records of a message and all its deliveries.

    `viewer` None sees everything; the sender sees everything; a recipient sees the
    message-level records and those of its own delivery, never another recipient's decision.
    """
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    own = await _own_delivery_ids(session, message, viewer)
    if own is not None and not own:
        raise NotFound(f"no message {message_id}")
    records = await session.scalars(
        select(AuditRecord).where(AuditRecord.message_id == message_id).order_by(AuditRecord.id)
    )
    known = bool(await persons_known_to(session, viewer, {message.subject_pseudonym}))
    return [
        audit_view(r, known)
        for r in records
        if own is None or r.delivery_id is None or r.delivery_id in own
    ]


async def trail_deliveries(
    session: AsyncSession, message_id: UUID, viewer: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Per recipient `viewer` may see (as in `message_trail`): the decision, its bases and
    agreement, the deadlines, the status times, the outcome and whether a deadline was missed."""
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    statement = (
        select(Delivery)
        .where(Delivery.message_id == message_id)
        .order_by(Delivery.recipient_agency)
    )
    if viewer is not None and viewer != message.sender_agency:
        statement = statement.where(
            Delivery.recipient_agency == viewer, Delivery.status != "withheld"
        )
    overrides = await overrides_of_message(session, message_id)
    known = bool(await persons_known_to(session, viewer, {message.subject_pseudonym}))
    views = [
        recipient_view(d, now, overrides.get(d.id), known) for d in await session.scalars(statement)
    ]
    # A replay of a delivery withheld from the viewer must not tell it one was withheld.
    shown = {view["delivery_id"] for view in views}
    return [
        {**view, "replay_of": view["replay_of"] if view["replay_of"] in shown else None}
        for view in views
    ]


async def _own_delivery_ids(
    session: AsyncSession, message: Message, viewer: str | None
) -> set[UUID | None] | None:
    if viewer is None or viewer == message.sender_agency:
        return None
    statement = select(Delivery.id).where(
        Delivery.message_id == message.id,
        Delivery.recipient_agency == viewer,
        Delivery.status != "withheld",
    )
    return set((await session.scalars(statement)).all())


def audit_view(record: AuditRecord, known: bool = True) -> dict[str, Any]:
    """A record as shown; a decision's consent detail only to those who keep the person's
    consent records (`known`)."""
    decided = record.event == AuditEvent.DELIVERY_DECIDED.value
    return {
        "id": record.id,
        "recorded_at": record.recorded_at.isoformat(),
        "event": record.event,
        "message_id": str(record.message_id) if record.message_id else None,
        "delivery_id": str(record.delivery_id) if record.delivery_id else None,
        "actor": {"agency": record.actor_agency, "client": record.actor_client},
        "subject": record.subject_pseudonym,
        "payload_digest": record.payload_digest,
        "detail": disclosed(record.detail, known) if decided else record.detail,
    }
