"""What a duty team sees of its escalations: the API's and the duty console's one reading.

Public for the pages as well as the API:

- `escalations_for(session, agency, status, now)`: the agency's escalations, most urgent
  first (open ones by how overdue they are, then closed ones, most recently closed first);
- `escalation_for(session, agency, escalation_id, now)`: one of them, or NotFound;
- `escalation_view(record, now)`: one loaded record as the wire model;
- `escalation_page(...)`: a page of `escalations_for` with an opaque cursor, for the API.

A view holds the missed delivery's metadata and whom to call, never the payload, the reason
for sharing or the NHS number (see schemas/escalations.py).
"""

import base64
import json
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.errors import FieldError, InvalidInput, NotFound
from broker.escalations.repository import (
    CLOSED,
    EscalationRecord,
    QueuePosition,
    Row,
    closed_page,
    escalation_row,
    open_page,
    with_contacts,
)
from broker.timeframes.policy import iso_duration
from schemas.common import Person
from schemas.escalations import (
    CoordinatorContact,
    EscalatedDelivery,
    EscalationPage,
    EscalationView,
    SenderContact,
    TeamContact,
)
from schemas.vocabulary import BreachKind, EscalationOutcome, EscalationStatus, EscalationStep

DEFAULT_LIMIT = 50


async def escalations_for(
    session: AsyncSession,
    agency: str,
    status: EscalationStatus | None,
    now: datetime,
    *,
    limit: int = DEFAULT_LIMIT,
    after: QueuePosition | None = None,
) -> list[EscalationView]:
    """`agency`'s escalations in `status` (None: every status), most urgent first, at most
    `limit` of them, continuing after `after` when given."""
    rows: list[Row] = []
    if status in (None, EscalationStatus.OPEN) and (after is None or after.open):
        rows += await open_page(session, agency, limit, after)
    if status != EscalationStatus.OPEN and len(rows) < limit:
        statuses = CLOSED if status is None else (status.value,)
        closed_after = after if after is not None and not after.open else None
        rows += await closed_page(session, agency, statuses, limit - len(rows), closed_after)
    return [escalation_view(record, now) for record in await with_contacts(session, rows)]


async def escalation_page(
    session: AsyncSession,
    agency: str,
    status: EscalationStatus | None,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> EscalationPage:
    after = decode_cursor(cursor) if cursor is not None else None
    views = await escalations_for(session, agency, status, now, limit=limit + 1, after=after)
    page = views[:limit]
    more = len(views) > limit
    return EscalationPage(items=page, next_cursor=encode_cursor(page[-1]) if more else None)


async def escalation_for(
    session: AsyncSession, agency: str, escalation_id: UUID, now: datetime
) -> EscalationView:
    """The agency's own escalation; another agency's is indistinguishable from absent."""
    row = await escalation_row(session, escalation_id)
    if row is None or row[0].agency_code != agency:
        raise NotFound(f"no escalation {escalation_id} for this agency")
    (record,) = await with_contacts(session, [row])
    return escalation_view(record, now)


def escalation_view(record: EscalationRecord, now: datetime) -> EscalationView:
    e = record.escalation
    return EscalationView(
        id=e.id,
        reference=e.reference,
        status=EscalationStatus(e.status),
        route=EscalationStep(e.route),
        step=e.step,
        breach=BreachKind(e.breach),
        deadline=e.deadline,
        late_by=iso_duration(late_by(e.deadline, e.closed_at or now)),
        opened_at=e.opened_at,
        closed_at=e.closed_at,
        outcome=EscalationOutcome(e.outcome) if e.outcome else None,
        closed_by=Person.model_validate(e.closed_by) if e.closed_by else None,
        notified_at=e.notified_at,
        delivery=_delivery(record),
        sender=_sender(record),
        coordinator=_coordinator(record),
        links={"self": f"/v1/escalations/{e.id}", "ack": f"/v1/escalations/{e.id}/ack"},
    )


def late_by(deadline: datetime, at: datetime) -> timedelta:
    """How far past the deadline, to the second: a duty team reads minutes, not microseconds."""
    return timedelta(seconds=max(round((at - deadline).total_seconds()), 0))


def _delivery(record: EscalationRecord) -> EscalatedDelivery:
    d, m = record.delivery, record.message
    return EscalatedDelivery(
        delivery_id=d.id,
        message_id=m.id,
        event_type=m.type,
        urgency=m.urgency,
        purpose=m.purpose,
        recipient_agency=d.recipient_agency,
        recipient_name=record.recipient.name,
        status=d.status,
        deliver_by=d.deliver_by,
        ack_by=d.ack_by,
        delivered_at=d.delivered_at,
        received_at=d.received_at,
    )


def _sender(record: EscalationRecord) -> SenderContact:
    team = record.sender_team
    return SenderContact(
        agency=record.sender.code,
        name=record.sender.name,
        duty_team=TeamContact(name=team.name, email=team.email) if team else None,
    )


def _coordinator(record: EscalationRecord) -> CoordinatorContact | None:
    member = record.coordinator
    if member is None:
        return None
    return CoordinatorContact(
        agency=member.agency_code, role=member.role, named_lead=member.named_lead
    )


def encode_cursor(view: EscalationView) -> str:
    is_open = view.status == EscalationStatus.OPEN
    at = view.deadline if is_open else view.closed_at
    assert at is not None
    raw = json.dumps([is_open, at.isoformat(), str(view.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> QueuePosition:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        is_open, at, escalation_id = json.loads(base64.urlsafe_b64decode(padded))
        return QueuePosition(bool(is_open), datetime.fromisoformat(at), UUID(escalation_id))
    except (ValueError, TypeError) as exc:
        error = FieldError(("query", "cursor"), "not a cursor this service issued")
        raise InvalidInput("the cursor is not one this service issued", [error]) from exc
