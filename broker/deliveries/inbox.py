"""A recipient agency's inbox: list, fetch (the receipt) and acknowledge (the outcome)."""

import base64
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append_about_delivery
from broker.crypto.envelope import Sealed, message_ad, open_sealed, seal
from broker.db.models import Delivery, Message, Subject
from broker.db.types import UtcDateTime
from broker.deliveries import sequence
from broker.deliveries.minimise import minimised
from broker.errors import Conflict, InvalidInput, NotFound
from broker.escalations.service import resolve_for_delivery
from broker.pipeline.lanes import Lane
from broker.runtime import Runtime
from broker.subjects.repository import subject_ad
from consent.model import Obligations
from consent.redact import field_paths, path_allowed, redaction
from schemas.acks import Acknowledgement
from schemas.responses import DeliveryContent, InboxItem, InboxStatus, OldestUnacknowledged
from schemas.vocabulary import DeliveryStatus

VISIBLE = (
    DeliveryStatus.DELIVERED,
    DeliveryStatus.RECEIVED,
    DeliveryStatus.ACKNOWLEDGED,
    DeliveryStatus.EXPIRED,
)
_RECEIVABLE = {DeliveryStatus.DELIVERED.value, DeliveryStatus.EXPIRED.value}


@dataclass(frozen=True)
class InboxEntry:
    delivery: Delivery
    message: Message


async def list_inbox(
    session: AsyncSession,
    agency: str,
    status: DeliveryStatus | None,
    limit: int,
    cursor: str | None,
    since: datetime | None = None,
    after_seq: int | None = None,
) -> tuple[list[InboxEntry], str | None]:
    """Urgent first, then routine, each newest first; one page, the cursor opaque to callers.
    With `since`, only deliveries made available after that moment. With `after_seq`, those
    whose seq is greater, in seq order: the next page is after the last seq of this one."""
    wanted = [status] if status is not None else list(VISIBLE)
    if not set(wanted) <= set(VISIBLE):
        return [], None
    statement = (
        select(Delivery, Message)
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.recipient_agency == agency, Delivery.status.in_([s.value for s in wanted]))
        # "urgent" sorts after "routine": descending, the urgent lane comes first.
        .order_by(Delivery.lane.desc(), Delivery.created_at.desc(), Delivery.id.desc())
        .limit(limit + 1)
    )
    if since is not None:
        statement = statement.where(Delivery.delivered_at > since)
    if after_seq is not None:
        statement = statement.where(Delivery.seq > after_seq).order_by(None).order_by(Delivery.seq)
        cursor = None
    if cursor is not None:
        lane, created_at, delivery_id = decode_cursor(cursor)
        statement = statement.where(
            tuple_(Delivery.lane, Delivery.created_at, Delivery.id)
            < tuple_(literal(lane), literal(created_at, UtcDateTime()), literal(delivery_id))
        )
    rows = [InboxEntry(d, m) for d, m in (await session.execute(statement)).all()]
    page = rows[:limit]
    more = len(rows) > limit and after_seq is None  # by seq, the next page is after_seq
    return page, encode_cursor(page[-1].delivery) if more and page else None


def encode_cursor(delivery: Delivery) -> str:
    raw = json.dumps([delivery.lane, delivery.created_at.isoformat(), str(delivery.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded))
        if len(position) == 2:
            # Issued before lanes, when the inbox was one list: go on through the routine lane.
            position = [Lane.ROUTINE.value, *position]
        lane, created_at, delivery_id = position
        return Lane(lane).value, datetime.fromisoformat(created_at), UUID(delivery_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the cursor is not one this service issued") from exc


async def inbox_status(session: AsyncSession, agency: str) -> InboxStatus:
    """The last seq given to the agency and its oldest delivery not yet acknowledged."""
    oldest = (
        await session.execute(
            select(Delivery.id, Delivery.seq, Delivery.delivered_at)
            .where(
                Delivery.recipient_agency == agency,
                Delivery.status.in_([s.value for s in VISIBLE if s != DeliveryStatus.ACKNOWLEDGED]),
            )
            # Within one dispatch (one delivered_at), seq is the order they were accepted in.
            .order_by(Delivery.delivered_at, Delivery.seq, Delivery.id)
            .limit(1)
        )
    ).first()
    return InboxStatus(
        last_seq=await sequence.last_seq(session, agency),
        oldest_unacknowledged=OldestUnacknowledged(
            delivery_id=oldest.id, seq=oldest.seq, delivered_at=oldest.delivered_at
        )
        if oldest
        else None,
    )


async def visible_delivery(session: AsyncSession, agency: str, delivery_id: UUID) -> InboxEntry:
    """The agency's own visible delivery; anything else is indistinguishable from absent."""
    delivery = await session.get(Delivery, delivery_id, with_for_update=True)
    if (
        delivery is None
        or delivery.recipient_agency != agency
        or delivery.status not in {s.value for s in VISIBLE}
    ):
        raise NotFound(f"no delivery {delivery_id} in this inbox")
    message = await session.get(Message, delivery.message_id)
    assert message is not None
    return InboxEntry(delivery, message)


async def entry_of(session: AsyncSession, delivery_id: UUID) -> InboxEntry:
    """A delivery and its message, the delivery locked: for the broker's own work on it."""
    delivery = await session.get(Delivery, delivery_id, with_for_update=True)
    assert delivery is not None
    message = await session.get(Message, delivery.message_id)
    assert message is not None
    return InboxEntry(delivery, message)


async def entries_of(
    session: AsyncSession, delivery_ids: list[UUID], *, lock: bool
) -> dict[UUID, InboxEntry]:
    """Deliveries and their messages in one query (the deliveries locked, in id order, when
    `lock`): for the broker's work on many at once."""
    statement = (
        select(Delivery, Message)
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
    )
    if lock:
        statement = statement.with_for_update(of=Delivery)
    rows = (await session.execute(statement)).tuples().all()
    return {delivery.id: InboxEntry(delivery, message) for delivery, message in rows}


async def fetch_delivery(
    session: AsyncSession, rt: Runtime, actor: Actor, delivery_id: UUID
) -> DeliveryContent:
    """The delivery with its content; the first fetch is the receipt."""
    assert actor.agency is not None
    entry = await visible_delivery(session, actor.agency, delivery_id)
    record_receipt(session, rt, actor, entry)
    return await delivery_content(session, rt, actor, entry)


@dataclass(frozen=True)
class Disclosure:
    """What a view of a delivery showed, for its `payload.viewed` record."""

    present: frozenset[str]
    obligations: Obligations


async def delivery_content(
    session: AsyncSession, rt: Runtime, actor: Actor, entry: InboxEntry
) -> DeliveryContent:
    """What the recipient is shown of the delivery, minimised by its agreement; audited as
    `payload.viewed` by `actor`, whoever asks (the recipient, or the broker pushing it)."""
    nhs_number = await nhs_number_of(session, rt, entry.message.subject_pseudonym)
    content, disclosure = shown_content(rt, entry, nhs_number)
    record_view(session, rt, actor, entry, disclosure.present, disclosure.obligations)
    return content


def shown_content(
    rt: Runtime, entry: InboxEntry, nhs_number: str
) -> tuple[DeliveryContent, Disclosure]:
    """The delivery as its recipient is shown it, and what that discloses (not yet audited:
    a push records it once the receiver has it)."""
    content = json.loads(
        open_sealed(
            rt.keys.key_provider,
            Sealed.from_bytes(entry.message.content_sealed),
            message_ad(entry.message.id),
        )
    )
    # The message holds the sender's whole payload; each recipient sees its agreement's part.
    obligations = Obligations.from_dict(entry.delivery.decision_detail.get("obligations"))
    present = field_paths(content["payload"])
    content = minimised(content, obligations)
    shown = DeliveryContent(
        **inbox_item(entry).model_dump(),
        subject={"nhs_number": nhs_number, "local_id": content["local_id"]},
        reason_for_sharing=content["reason_for_sharing"],
        override=content["override"],
        payload=content["payload"],
        outcome=entry.delivery.ack_outcome,
        reason_code=entry.delivery.ack_reason_code,
    )
    return shown, Disclosure(present, obligations)


def record_view(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    entry: InboxEntry,
    present: frozenset[str],
    obligations: Obligations,
) -> None:
    """Every fetch is a `payload.viewed` record: who saw which fields, and what was withheld."""
    delivery, message = entry.delivery, entry.message
    allowed = obligations.allowed_items
    shown = sorted(p for p in present if allowed is None or path_allowed(p, allowed))
    append_about_delivery(
        session,
        AuditEvent.PAYLOAD_VIEWED,
        actor,
        rt.clock(),
        message,
        delivery.id,
        payload_digest=message.payload_digest,
        detail={
            "recipient": delivery.recipient_agency,
            "fields": shown,
            "redacted": list(redaction(present, allowed)),
        },
    )


def record_receipt(
    session: AsyncSession, rt: Runtime, actor: Actor, entry: InboxEntry, channel: str = "inbox"
) -> None:
    """The transport receipt, once: the first inbox fetch or acknowledgement, or a webhook's
    2xx answer, whichever comes first."""
    delivery = entry.delivery
    if delivery.received_at is not None or delivery.status not in _RECEIVABLE:
        return
    now = rt.clock()
    delivery.received_at = now
    if delivery.status == DeliveryStatus.DELIVERED:
        # An expired delivery stays expired: the receipt is recorded, the breach stands.
        delivery.status = DeliveryStatus.RECEIVED.value
    append_about_delivery(
        session,
        AuditEvent.DELIVERY_RECEIVED,
        actor,
        now,
        entry.message,
        delivery.id,
        detail={"recipient": delivery.recipient_agency}
        | ({"channel": channel} if channel != "inbox" else {}),
    )


async def nhs_number_of(session: AsyncSession, rt: Runtime, pseudonym: str) -> str:
    subject = await session.get(Subject, pseudonym)
    assert subject is not None
    sealed = Sealed.from_bytes(subject.nhs_number_sealed)
    return open_sealed(rt.keys.key_provider, sealed, subject_ad(pseudonym)).decode()


def ack_note_ad(delivery_id: UUID) -> bytes:
    return b"imb:v1:ack-note:" + str(delivery_id).encode()


async def acknowledge(
    session: AsyncSession, rt: Runtime, actor: Actor, delivery_id: UUID, ack: Acknowledgement
) -> InboxEntry:
    assert actor.agency is not None
    entry = await visible_delivery(session, actor.agency, delivery_id)
    delivery = entry.delivery
    if delivery.status == DeliveryStatus.ACKNOWLEDGED:
        raise Conflict(f"delivery {delivery_id} was already acknowledged")
    record_receipt(session, rt, actor, entry)
    now = rt.clock()
    delivery.status, delivery.acknowledged_at = DeliveryStatus.ACKNOWLEDGED.value, now
    delivery.ack_outcome = ack.outcome.value
    delivery.ack_reason_code = ack.reason_code.value if ack.reason_code else None
    delivery.acknowledged_by = ack.acknowledged_by.model_dump()
    if ack.note is not None:
        sealed = seal(rt.keys.key_provider, ack.note.encode(), ack_note_ad(delivery.id))
        delivery.ack_note_sealed = sealed.to_bytes()
    append_about_delivery(
        session,
        AuditEvent.DELIVERY_ACKNOWLEDGED,
        actor,
        now,
        entry.message,
        delivery.id,
        detail={
            "recipient": delivery.recipient_agency,
            "outcome": delivery.ack_outcome,
            "reason_code": delivery.ack_reason_code,
            "acknowledged_by": delivery.acknowledged_by,
        },
    )
    rt.metrics.acknowledgements.labels(delivery.ack_outcome).inc()
    available_at = delivery.delivered_at or delivery.created_at
    rt.metrics.acknowledgement_seconds.labels(entry.message.type).observe(
        max((now - available_at).total_seconds(), 0.0)
    )
    # An acknowledgement ends any chase of this delivery, and the later steps of its route.
    await resolve_for_delivery(session, rt, delivery, entry.message.subject_pseudonym)
    return entry


def acknowledged_as(rt: Runtime, delivery: Delivery, ack: Acknowledgement) -> bool:
    """Whether `ack`, note and all, is the acknowledgement the delivery already has: what a
    sender that retries (as FHIR messaging senders do) sends a second time."""
    if delivery.status != DeliveryStatus.ACKNOWLEDGED:
        return False
    recorded = (delivery.ack_outcome, delivery.ack_reason_code, delivery.acknowledged_by)
    reason = ack.reason_code.value if ack.reason_code else None
    if recorded != (ack.outcome.value, reason, ack.acknowledged_by.model_dump()):
        return False
    if delivery.ack_note_sealed is None or ack.note is None:
        return delivery.ack_note_sealed is None and ack.note is None
    sealed = Sealed.from_bytes(delivery.ack_note_sealed)
    note = open_sealed(rt.keys.key_provider, sealed, ack_note_ad(delivery.id))
    return hmac.compare_digest(note, ack.note.encode())


def inbox_item(entry: InboxEntry) -> InboxItem:
    d, m = entry.delivery, entry.message
    return InboxItem(
        delivery_id=d.id,
        message_id=m.id,
        type=m.type,
        sender=m.sender_agency,
        purpose=m.purpose,
        urgency=m.urgency,
        lane=d.lane,
        status=d.status,
        seq=d.seq,
        occurred_at=m.occurred_at,
        delivered_at=d.delivered_at,
        received_at=d.received_at,
        acknowledged_at=d.acknowledged_at,
        deliver_by=d.deliver_by,
        ack_by=d.ack_by,
        crisis_plan_id=d.crisis_plan_id,
        links={"self": f"/v1/inbox/{d.id}", "ack": f"/v1/inbox/{d.id}/ack"},
    )
