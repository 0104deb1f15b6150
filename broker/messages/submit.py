"""SubmitEvent: accept an event durably, with its audit record and outbox entry, or refuse it."""

from dataclasses import dataclass
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.audit.log import Actor, AuditEvent, append
from broker.crypto.envelope import message_ad, seal
from broker.crypto.pseudonym import canonical_json, payload_digest
from broker.db.models import Message
from broker.errors import Conflict, FieldError, InvalidInput
from broker.pipeline.lanes import Lane, lane_of
from broker.pipeline.outbox import enqueue, event_record
from broker.runtime import Runtime
from broker.subjects.repository import register_subject
from schemas.events import EventSubmission

ACCEPTED = "accepted"


@dataclass(frozen=True)
class Accepted:
    message_id: UUID
    status: str
    replayed: bool
    lane: Lane


async def submit_event(
    session: AsyncSession, rt: Runtime, actor: Actor, event: EventSubmission
) -> Accepted:
    assert actor.agency is not None
    assert actor.client is not None
    body_digest = payload_digest(rt.keys.digest_key, canonical_json(event.model_dump(mode="json")))
    existing = await find_by_sender_event(session, actor.agency, event.id)
    if existing is not None:
        return replay(existing, body_digest)
    await _check_recipients(session, rt, actor.agency, event.recipients)
    message = await _store_message(session, rt, actor, event, body_digest)
    return Accepted(message.id, message.status, replayed=False, lane=Lane(message.lane))


async def find_by_sender_event(
    session: AsyncSession, sender: str, event_id: UUID
) -> Message | None:
    statement = select(Message).where(
        Message.sender_agency == sender, Message.sender_event_id == event_id
    )
    return (await session.scalars(statement)).one_or_none()


def replay(existing: Message, body_digest: str) -> Accepted:
    """The same event again is the same message; the same id with another body is a clash."""
    if existing.body_digest != body_digest:
        raise Conflict(f"event {existing.sender_event_id} was already accepted with another body")
    return Accepted(existing.id, existing.status, replayed=True, lane=Lane(existing.lane))


async def _check_recipients(
    session: AsyncSession, rt: Runtime, sender: str, recipients: list[str] | None
) -> None:
    if recipients is None:
        return
    known = await registered(session, rt, recipients)
    errors = [
        FieldError(("body", "recipients", index), _recipient_problem(code, sender))
        for index, code in enumerate(recipients)
        if code not in known or code == sender
    ]
    if errors:
        raise InvalidInput("the event names recipients it cannot be sent to", errors)


def _recipient_problem(code: str, sender: str) -> str:
    return "an agency does not send to itself" if code == sender else f"unknown agency {code}"


async def _store_message(
    session: AsyncSession, rt: Runtime, actor: Actor, event: EventSubmission, body_digest: str
) -> Message:
    now = rt.clock()
    pseudonym = await register_subject(session, rt, event.subject.nhs_number)
    message_id = uuid4()
    payload = event.payload.model_dump(mode="json")
    content = seal(rt.keys.key_provider, canonical_json(_content(event)), message_ad(message_id))
    message = Message(
        id=message_id,
        sender_agency=actor.agency,
        sender_client=actor.client,
        sender_event_id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        received_at=now,
        subject_pseudonym=pseudonym,
        purpose=event.purpose.value,
        urgency=event.urgency.value,
        override_reason=event.override.reason.value if event.override else None,
        explicit_recipients=event.recipients,
        content_sealed=content.to_bytes(),
        body_digest=body_digest,
        payload_digest=payload_digest(rt.keys.digest_key, canonical_json(payload)),
        status=ACCEPTED,
        lane=lane_of(event.type, event.urgency.value).value,
    )
    session.add(message)
    append(
        session,
        AuditEvent.EVENT_RECEIVED,
        actor,
        now,
        message_id=message_id,
        subject=pseudonym,
        payload_digest=message.payload_digest,
        detail={"type": event.type, "purpose": message.purpose, "urgency": message.urgency},
    )
    lane = Lane(message.lane)
    topic = rt.settings.kafka.events_topic(lane)
    enqueue(session, lane, topic, pseudonym, event_record(message, content), now)
    return message


def _content(event: EventSubmission) -> dict[str, object]:
    """What is sealed: everything that may say something about the person."""
    return {
        "payload": event.payload.model_dump(mode="json"),
        "reason_for_sharing": event.reason_for_sharing,
        "local_id": event.subject.local_id,
        "override": event.override.model_dump(mode="json") if event.override else None,
    }
