"""Reading escalations with what a duty team needs beside them: the missed delivery, its
message's metadata, the agencies involved and whom to call."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import Tuple

from broker.db.models import Agency, CareTeamMember, Delivery, DutyTeam, Escalation, Message
from broker.db.types import UtcDateTime
from schemas.vocabulary import EscalationStatus, EscalationStep

OPEN = EscalationStatus.OPEN.value
CLOSED = (EscalationStatus.ACKNOWLEDGED.value, EscalationStatus.RESOLVED.value)
Row = tuple[Escalation, Delivery, Message]


@dataclass(frozen=True)
class EscalationRecord:
    escalation: Escalation
    delivery: Delivery
    message: Message
    sender: Agency
    recipient: Agency
    sender_team: DutyTeam | None
    # The escalated-to agency's care-team entry, for a coordinator step.
    coordinator: CareTeamMember | None


@dataclass(frozen=True)
class QueuePosition:
    """Where a page ended: open items run by deadline, closed ones by when they closed."""

    open: bool
    at: datetime
    id: UUID


def _joined() -> Select[tuple[Escalation, Delivery, Message]]:
    return (
        select(Escalation, Delivery, Message)
        .join(Delivery, Delivery.id == Escalation.delivery_id)
        .join(Message, Message.id == Escalation.message_id)
    )


async def open_page(
    session: AsyncSession, agency: str, limit: int, after: QueuePosition | None
) -> list[Row]:
    """The most overdue first: the earliest missed deadline has waited longest."""
    statement = (
        _joined()
        .where(Escalation.agency_code == agency, Escalation.status == OPEN)
        .order_by(Escalation.deadline, Escalation.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(Escalation.deadline, Escalation.id) > _position(after))
    return [(e, d, m) for e, d, m in (await session.execute(statement)).all()]


async def closed_page(
    session: AsyncSession,
    agency: str,
    statuses: Sequence[str],
    limit: int,
    after: QueuePosition | None,
) -> list[Row]:
    """The most recently closed first."""
    statement = (
        _joined()
        .where(Escalation.agency_code == agency, Escalation.status.in_(statuses))
        .order_by(Escalation.closed_at.desc(), Escalation.id.desc())
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(Escalation.closed_at, Escalation.id) < _position(after))
    return [(e, d, m) for e, d, m in (await session.execute(statement)).all()]


def _position(after: QueuePosition) -> Tuple:
    return tuple_(literal(after.at, UtcDateTime()), literal(after.id))


async def escalation_row(session: AsyncSession, escalation_id: UUID) -> Row | None:
    found = (await session.execute(_joined().where(Escalation.id == escalation_id))).first()
    return None if found is None else (found[0], found[1], found[2])


async def with_contacts(session: AsyncSession, rows: Sequence[Row]) -> list[EscalationRecord]:
    """The rows with their agencies, the senders' duty teams and coordinators, in three
    queries whatever the number of rows."""
    codes = {m.sender_agency for _, _, m in rows} | {d.recipient_agency for _, d, _ in rows}
    agencies = {
        a.code: a for a in await session.scalars(select(Agency).where(Agency.code.in_(codes)))
    }
    teams = await _duty_teams(session, {m.sender_agency for _, _, m in rows})
    leads = await _coordinators(session, rows)
    return [
        EscalationRecord(
            escalation=e,
            delivery=d,
            message=m,
            sender=agencies[m.sender_agency],
            recipient=agencies[d.recipient_agency],
            sender_team=teams.get(m.sender_agency),
            coordinator=leads.get((m.subject_pseudonym, e.agency_code))
            if _to_coordinator(e)
            else None,
        )
        for e, d, m in rows
    ]


async def _duty_teams(session: AsyncSession, agencies: set[str]) -> dict[str, DutyTeam]:
    statement = select(DutyTeam).where(DutyTeam.agency_code.in_(agencies))
    return {team.agency_code: team for team in await session.scalars(statement)}


async def _coordinators(
    session: AsyncSession, rows: Sequence[Row]
) -> dict[tuple[str, str], CareTeamMember]:
    wanted = {(m.subject_pseudonym, e.agency_code) for e, _, m in rows if _to_coordinator(e)}
    if not wanted:
        return {}
    statement = select(CareTeamMember).where(
        CareTeamMember.subject_pseudonym.in_({subject for subject, _ in wanted})
    )
    members = await session.scalars(statement)
    return {
        (m.subject_pseudonym, m.agency_code): m
        for m in members
        if (m.subject_pseudonym, m.agency_code) in wanted
    }


def _to_coordinator(escalation: Escalation) -> bool:
    return escalation.route == EscalationStep.COORDINATOR.value
