"""Appending to the audit trail. There is deliberately no update or delete function here."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import AuditRecord, Message


class AuditEvent(StrEnum):
    EVENT_RECEIVED = "event.received"
    EVENT_UNROUTABLE = "event.unroutable"
    EVENT_REPLAYED = "event.replayed"
    DELIVERY_DECIDED = "delivery.decided"
    DELIVERY_DELIVERED = "delivery.delivered"
    DELIVERY_RECEIVED = "delivery.received"
    DELIVERY_DEAD_LETTERED = "delivery.dead_lettered"
    DELIVERY_REDRIVEN = "delivery.redriven"
    DELIVERY_REDELIVERY_ASKED = "delivery.redelivery_asked"
    DELIVERY_ACKNOWLEDGED = "delivery.acknowledged"
    PAYLOAD_VIEWED = "payload.viewed"
    AGENCY_REGISTERED = "agency.registered"
    AGENCY_RATE_LIMITS_SET = "agency.rate_limits_set"
    CLIENT_REGISTERED = "client.registered"
    CLIENT_REVOKED = "client.revoked"
    CLIENT_SECRET_ROTATED = "client.secret_rotated"  # noqa: S105 (an event name)
    AGREEMENT_CREATED = "agreement.created"
    AGREEMENT_APPROVED = "agreement.approved"
    AGREEMENT_ACTIVATED = "agreement.activated"
    AGREEMENT_VERSION_CREATED = "agreement.version_created"
    AGREEMENT_SUPERSEDED = "agreement.superseded"
    AGREEMENT_SUSPENDED = "agreement.suspended"
    AGREEMENT_TERMINATED = "agreement.terminated"
    OVERRIDE_OPENED = "override.opened"
    OVERRIDE_REVIEWED = "override.reviewed"
    DECISION_PREVIEWED = "decision.previewed"
    USER_CREATED = "user.created"
    USER_SIGNED_IN = "user.signed_in"
    USER_SIGNED_OUT = "user.signed_out"
    USER_SIGN_IN_REFUSED = "user.sign_in_refused"
    USER_DISABLED = "user.disabled"
    USER_LOCKED_OUT = "user.locked_out"
    USER_UNLOCKED = "user.unlocked"
    USER_ENABLED = "user.enabled"
    CONSENT_RECORDED = "consent.recorded"
    CONSENT_VIEWED = "consent.viewed"  # a client read a person's consent records
    SUBJECT_TRACED = "audit.subject_traced"  # someone looked up a person's assurance trace
    CARE_TEAM_REPLACED = "care_team.replaced"
    DELIVERY_BREACHED = "delivery.breached"
    ESCALATION_OPENED = "escalation.opened"
    ESCALATION_ACKNOWLEDGED = "escalation.acknowledged"
    ESCALATION_RESOLVED = "escalation.resolved"
    ESCALATION_SKIPPED = "escalation.skipped"  # a route step with nobody to go to
    ESCALATION_NOTIFIED = "escalation.notified"
    ESCALATION_NOTIFY_FAILED = "escalation.notify_failed"
    REPORT_UNACKNOWLEDGED = "report.unacknowledged"
    DUTY_TEAM_SET = "duty_team.set"
    CHANNEL_SET = "channel.set"
    CHANNEL_DISABLED = "channel.disabled"
    CHANNEL_DUTY_TEAM_TOLD = "channel.duty_team_told"
    CHANNEL_NOTIFY_FAILED = "channel.notify_failed"
    CHANNEL_SECRET_ROTATED = "channel.secret_rotated"  # noqa: S105 (an event name)
    TIMEFRAMES_REPLACED = "timeframes.replaced"
    CRISIS_PLAN_PROPOSED = "crisis_plan.proposed"
    CRISIS_PLAN_CONFIRMED = "crisis_plan.confirmed"
    CRISIS_PLAN_ACTIVATED = "crisis_plan.activated"
    CRISIS_PLAN_SUPERSEDED = "crisis_plan.superseded"
    AUDIT_PRUNED = "audit.pruned"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_VERIFIED = "audit.verified"


@dataclass(frozen=True)
class Actor:
    """Who caused a change: an agency's client, or the broker itself (both None)."""

    agency: str | None
    client: str | None


BROKER = Actor(agency=None, client=None)


def append(
    session: AsyncSession,
    event: AuditEvent,
    actor: Actor,
    at: datetime,
    *,
    message_id: UUID | None = None,
    delivery_id: UUID | None = None,
    subject: str | None = None,
    payload_digest: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditRecord(
            **record(
                event,
                actor,
                at,
                message_id=message_id,
                delivery_id=delivery_id,
                subject=subject,
                payload_digest=payload_digest,
                detail=detail,
            )
        )
    )


def record(
    event: AuditEvent,
    actor: Actor,
    at: datetime,
    *,
    message_id: UUID | None = None,
    delivery_id: UUID | None = None,
    subject: str | None = None,
    payload_digest: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit record's row, for `append` or for a hot path's bulk insert
    (broker.db.bulk)."""
    return {
        "recorded_at": at,
        "event": event.value,
        "message_id": message_id,
        "delivery_id": delivery_id,
        "actor_agency": actor.agency,
        "actor_client": actor.client,
        "subject_pseudonym": subject,
        "payload_digest": payload_digest,
        "detail": detail or {},
    }


def append_about_delivery(
    session: AsyncSession,
    event: AuditEvent,
    actor: Actor,
    at: datetime,
    message: Message,
    delivery_id: UUID,
    *,
    payload_digest: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """A record about one delivery of `message`: both ids and the subject's pseudonym, so the
    record is found by message, by delivery and by subject alike."""
    append(
        session,
        event,
        actor,
        at,
        message_id=message.id,
        delivery_id=delivery_id,
        subject=message.subject_pseudonym,
        payload_digest=payload_digest,
        detail=detail,
    )
