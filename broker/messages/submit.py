"""SubmitEvents: accept events durably, each with its audit record and outbox entry, or say
why not, one answer per event.

One event (POST /v1/events) is a batch of one. A batch is read in bulk — the sender's earlier
events with these ids, the recipients named, the people's care — and written in the caller's
one transaction, so accepting 500 events costs a handful of round trips, not 500 times a few.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.audit.log import Actor, AuditEvent, append
from broker.crypto.envelope import message_ad, seal
from broker.crypto.pseudonym import canonical_json, payload_digest
from broker.db.models import Message
from broker.errors import BrokerError, Conflict, FieldError, InvalidInput
from broker.logs import after_commit, get_logger
from broker.pipeline.lanes import Lane, lane_of
from broker.pipeline.notices import announce
from broker.pipeline.outbox import enqueue, event_record
from broker.runtime import Runtime
from broker.subjects.access import persons_known_to
from broker.subjects.repository import register_subjects
from schemas.events import EventSubmission

ACCEPTED = "accepted"
log = get_logger(__name__)


@dataclass(frozen=True)
class Accepted:
    message_id: UUID
    status: str
    replayed: bool
    lane: Lane


# Each event's answer: accepted (or replayed), or the error that refused it alone. Field
# locations in an error are relative to the event.
Outcome = Accepted | BrokerError


@dataclass(frozen=True)
class _New:
    """An event to accept: it becomes a message once its person is on record."""

    event: EventSubmission
    body_digest: str
    pseudonym: str


async def submit_events(
    session: AsyncSession, rt: Runtime, actor: Actor, events: Sequence[EventSubmission]
) -> list[Outcome]:
    assert actor.agency is not None
    pseudonyms = [rt.pseudonymiser.pseudonym(event.subject.nhs_number) for event in events]
    verdicts = await _verdicts(session, rt, actor.agency, events, pseudonyms)
    # An event sent twice in one batch has one verdict, met twice: it is stored once.
    new = list({id(v): v for v in verdicts if isinstance(v, _New)}.values())
    # People first: a message refers to its person's record.
    await register_subjects(session, rt, {v.pseudonym: v.event.subject.nhs_number for v in new})
    # Each a microsecond after the one before: routing decides a person's events in the order
    # of their acceptance times, and a batch's events are accepted in the order they are listed.
    now = rt.clock()
    stored = {
        id(v): _store_message(session, rt, actor, v, now + timedelta(microseconds=place))
        for place, v in enumerate(new)
    }
    await announce(session, (Lane(message.lane) for message in stored.values()))
    return _answers(verdicts, stored)


def _answers(verdicts: list["_New | Outcome"], stored: dict[int, Message]) -> list[Outcome]:
    answers: list[Outcome] = []
    answered: set[int] = set()
    for verdict in verdicts:
        if not isinstance(verdict, _New):
            answers.append(verdict)
            continue
        message = stored[id(verdict)]
        replayed = id(verdict) in answered  # the second time in the batch
        answers.append(Accepted(message.id, ACCEPTED, replayed, Lane(message.lane)))
        answered.add(id(verdict))
    return answers


async def _verdicts(
    session: AsyncSession,
    rt: Runtime,
    sender: str,
    events: Sequence[EventSubmission],
    pseudonyms: list[str],
) -> list[_New | Outcome]:
    """Each event's fate, from what is read in bulk: new, a replay, or refused."""
    digests = [_body_digest(rt, event) for event in events]
    earlier: dict[UUID, Message | _New] = dict(
        await _earlier_events(session, sender, [event.id for event in events])
    )
    known = await registered(session, rt, {code for e in events for code in e.recipients or ()})
    unnamed = {p for e, p in zip(events, pseudonyms, strict=True) if e.recipients is None}
    cared_for = await persons_known_to(session, sender, unnamed)
    verdicts: list[_New | Outcome] = []
    for event, digest, pseudonym in zip(events, digests, pseudonyms, strict=True):
        if event.id in earlier:
            verdicts.append(_replay(earlier[event.id], digest))
            continue
        refusal = _recipients_refusal(event, sender, known) or _addressing_refusal(
            event, pseudonym in cared_for
        )
        if refusal is None:
            earlier[event.id] = new = _New(event, digest, pseudonym)
            verdicts.append(new)
        else:
            verdicts.append(refusal)
    return verdicts


async def find_by_sender_event(
    session: AsyncSession, sender: str, event_id: UUID
) -> Message | None:
    return (await _earlier_events(session, sender, [event_id])).get(event_id)


async def _earlier_events(
    session: AsyncSession, sender: str, event_ids: list[UUID]
) -> dict[UUID, Message]:
    statement = select(Message).where(
        Message.sender_agency == sender, Message.sender_event_id.in_(set(event_ids))
    )
    return {m.sender_event_id: m for m in (await session.scalars(statement)).all()}


def _body_digest(rt: Runtime, event: EventSubmission) -> str:
    return payload_digest(rt.keys.digest_key, canonical_json(event.model_dump(mode="json")))


def _replay(existing: "Message | _New", body_digest: str) -> "_New | Outcome":
    """The same event again is the same message; the same id with another body is a clash.
    An id twice in one batch: the second is the first's replay (or clash)."""
    if existing.body_digest != body_digest:
        return Conflict(f"event {_event_id(existing)} was already accepted with another body")
    if isinstance(existing, _New):
        return existing
    return Accepted(existing.id, existing.status, replayed=True, lane=Lane(existing.lane))


def _event_id(existing: "Message | _New") -> UUID:
    return existing.event.id if isinstance(existing, _New) else existing.sender_event_id


def _recipients_refusal(
    event: EventSubmission, sender: str, known: set[str]
) -> InvalidInput | None:
    if event.recipients is None:
        return None
    errors = [
        FieldError(("recipients", index), _recipient_problem(code, sender))
        for index, code in enumerate(event.recipients)
        if code not in known or code == sender
    ]
    if not errors:
        return None
    return InvalidInput("the event names recipients it cannot be sent to", errors)


def _recipient_problem(code: str, sender: str) -> str:
    return "an agency does not send to itself" if code == sender else f"unknown agency {code}"


def _addressing_refusal(event: EventSubmission, sender_cares: bool) -> InvalidInput | None:
    """Without recipients an event goes to the person's care team, which only an agency
    among the person's carers may address so."""
    if event.recipients is not None or sender_cares:
        return None
    return InvalidInput(
        "name the recipients",
        [
            FieldError(
                ("recipients",),
                "only the person's care team and crisis-plan partners may send to them "
                "without naming recipients",
            )
        ],
    )


def _store_message(
    session: AsyncSession, rt: Runtime, actor: Actor, new: _New, now: datetime
) -> Message:
    event, body_digest, pseudonym = new.event, new.body_digest, new.pseudonym
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
    after_commit(
        session,
        log,
        "event.accepted",
        message_id=str(message_id),
        event_type=event.type,
        urgency=message.urgency,
        agency=actor.agency,
        client_id=actor.client,
    )
    return message


def _content(event: EventSubmission) -> dict[str, object]:
    """What is sealed: everything that may say something about the person."""
    return {
        "payload": event.payload.model_dump(mode="json"),
        "reason_for_sharing": event.reason_for_sharing,
        "local_id": event.subject.local_id,
        "override": event.override.model_dump(mode="json") if event.override else None,
    }
