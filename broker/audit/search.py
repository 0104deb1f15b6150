"""Searching the audit trail: who may see which records, and paging through them by filter.

Public for the audit pages as well as the API:

- `visible_to(agency)`: the SQL condition for the records an agency may see: those of messages
  it sent, its own deliveries' records and the message-level records of messages it received,
  and, for records about no message (agreements, users, consent), those its own clients made.
- `search_records(session, query, viewer)`: one page of records, oldest first, keyset-paged by
  record id; `viewer` None is an auditor who sees every agency.
- `AuditQuery`, `encode_cursor`, `decode_cursor`.

Every filter is on an indexed column of `audit_records` (event, subject pseudonym, recorded_at,
actor_agency, message_id, delivery_id), so a search never scans the trail.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import AuditEvent
from broker.db.models import AuditRecord, Delivery, Message
from broker.errors import FieldError, InvalidInput
from schemas.vocabulary import DeliveryStatus

__all__ = ["AuditQuery", "decode_cursor", "encode_cursor", "search_records", "visible_to"]


@dataclass(frozen=True)
class AuditQuery:
    """Filters of a search; each None matches everything."""

    agency: str | None = None  # sender or recipient of the record's message, or its actor
    event: AuditEvent | None = None
    subject: str | None = None  # the keyed pseudonym, never the NHS number
    recorded_from: datetime | None = None  # inclusive
    recorded_to: datetime | None = None  # exclusive
    after_id: int | None = None  # from the cursor
    limit: int = 100

    def __post_init__(self) -> None:
        if (
            self.recorded_from is not None
            and self.recorded_to is not None
            and self.recorded_from > self.recorded_to
        ):
            raise InvalidInput(
                "the period ends before it starts",
                [FieldError(("query", "from"), "must not be after 'to'")],
            )


def visible_to(agency: str) -> ColumnElement[bool]:
    """The records the agency may see (see the module docstring)."""
    sent = select(Message.id).where(Message.sender_agency == agency)
    own_deliveries = select(Delivery.id).where(Delivery.recipient_agency == agency)
    received = select(Delivery.message_id).where(
        Delivery.recipient_agency == agency,
        Delivery.status != DeliveryStatus.WITHHELD.value,
    )
    return or_(
        AuditRecord.message_id.in_(sent),
        AuditRecord.delivery_id.in_(own_deliveries),
        and_(AuditRecord.delivery_id.is_(None), AuditRecord.message_id.in_(received)),
        and_(AuditRecord.message_id.is_(None), AuditRecord.actor_agency == agency),
    )


async def search_records(
    session: AsyncSession, query: AuditQuery, viewer: str | None
) -> tuple[list[AuditRecord], str | None]:
    """One page of matching records visible to `viewer`, oldest first, and the next cursor."""
    statement = select(AuditRecord).order_by(AuditRecord.id).limit(query.limit + 1)
    if viewer is not None:
        statement = statement.where(visible_to(viewer))
    if query.agency is not None:
        statement = statement.where(visible_to(query.agency))
    if query.event is not None:
        statement = statement.where(AuditRecord.event == query.event.value)
    if query.subject is not None:
        statement = statement.where(AuditRecord.subject_pseudonym == query.subject)
    if query.recorded_from is not None:
        statement = statement.where(AuditRecord.recorded_at >= query.recorded_from)
    if query.recorded_to is not None:
        statement = statement.where(AuditRecord.recorded_at < query.recorded_to)
    if query.after_id is not None:
        statement = statement.where(AuditRecord.id > query.after_id)
    rows = list((await session.scalars(statement)).all())
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return page, encode_cursor(page[-1].id) if more and page else None


def encode_cursor(record_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{record_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, _, number = base64.urlsafe_b64decode(padded).decode().partition(":")
        if prefix != "audit" or not number.isdigit():
            raise ValueError(cursor)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "the cursor is not one this service issued",
            [FieldError(("query", "cursor"), "not a cursor this service issued")],
        ) from exc
