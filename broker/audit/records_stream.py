"""Reading the audit trail for export: a time range, in id order, in keyset batches; and the
record that an export was made."""

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.audit.search import visible_to
from broker.db.engine import Database
from broker.db.models import AuditRecord, Message
from broker.decisions.disclosure import disclosed
from broker.subjects.access import persons_known_to
from consent.vocab import purpose_of_use
from schemas.vocabulary import Purpose, Urgency

EXPORT_BATCH = 500

Records = AsyncIterator[tuple[AuditRecord, str | None]]


def note_export(
    session: AsyncSession,
    actor: Actor,
    at: datetime,
    export: tuple[str, datetime, datetime],
    agency: str | None,
) -> None:
    """Append `audit.exported`: who exported which (format, start, end), of one agency or all.
    Callers commit it before the first byte leaves: an export cut off half-way was still one.
    """
    format_, start, end = export
    detail = {
        "format": format_,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "agencies": "all" if agency is None else agency,
    }
    append(session, AuditEvent.AUDIT_EXPORTED, actor, at, detail=detail)


async def records_between(
    db: Database,
    start: datetime,
    end: datetime,
    agency: str | None,
    batch: int | None = None,
) -> Records:
    """Each record recorded in [start, end) with its message's HL7 purpose of use (TREAT, COC,
    ETREAT), in id order; `agency` None sees all.

    Every batch is its own short read, so a long export holds no transaction open.
    """
    size = batch or EXPORT_BATCH
    after = 0
    while True:
        query = (
            select(AuditRecord, Message.purpose, Message.urgency)
            .outerjoin(Message, Message.id == AuditRecord.message_id)
            .where(
                AuditRecord.id > after,
                AuditRecord.recorded_at >= start,
                AuditRecord.recorded_at < end,
            )
            .order_by(AuditRecord.id)
            .limit(size)
        )
        if agency is not None:
            query = query.where(visible_to(agency))
        async with db.unit_of_work() as session:
            rows = [
                (record, _purpose_of_use(purpose, urgency))
                for record, purpose, urgency in (await session.execute(query)).all()
            ]
            session.expunge_all()
            await _disclose(session, agency, [record for record, _ in rows])
        for row in rows:
            yield row
        if len(rows) < size:
            return
        after = rows[-1][0].id


def _purpose_of_use(purpose: str | None, urgency: str | None) -> str | None:
    if purpose is None:
        return None
    return purpose_of_use(Purpose(purpose), urgency == Urgency.EMERGENCY).value


async def _disclose(session: AsyncSession, agency: str | None, records: list[AuditRecord]) -> None:
    """Decisions about people whose consent records the agency does not keep lose their
    consent detail (broker.decisions.disclosure). The records are detached copies: nothing of
    this reaches the database."""
    people = {r.subject_pseudonym for r in records if r.subject_pseudonym}
    known = await persons_known_to(session, agency, people)
    for record in records:
        if record.event == AuditEvent.DELIVERY_DECIDED.value:
            record.detail = disclosed(record.detail, record.subject_pseudonym in known)
