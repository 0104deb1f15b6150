"""Which escalations are due a notice, and claiming one so that only one notifier sends it.

A claim is a compare-and-set on `notify_attempts` that also moves `next_notify_at` past the
longest a send may take: another notifier neither wins the same attempt nor picks the item
up again while the first is still sending. A notifier that dies mid-send leaves the item to
be retried once that lease runs out.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import DutyTeam, Escalation
from schemas.vocabulary import EscalationStatus

NO_DUTY_TEAM = "no duty team"
OPEN = EscalationStatus.OPEN.value


@dataclass(frozen=True)
class Due:
    id: UUID
    attempts: int
    has_duty_team: bool


async def due_for_notice(
    session: AsyncSession, now: datetime, *, max_attempts: int, email: bool, limit: int
) -> list[Due]:
    """Open escalations not yet notified, the most overdue first. With e-mail off, only
    those whose duty team has a webhook: the rest wait, quietly, until e-mail is set up."""
    statement = (
        select(Escalation.id, Escalation.notify_attempts, DutyTeam.agency_code)
        .outerjoin(DutyTeam, DutyTeam.agency_code == Escalation.agency_code)
        .where(
            Escalation.status == OPEN,
            Escalation.notified_at.is_(None),
            Escalation.notify_attempts < max_attempts,
            or_(Escalation.next_notify_at.is_(None), Escalation.next_notify_at <= now),
        )
        .order_by(Escalation.deadline, Escalation.id)
        .limit(limit)
    )
    if email:
        # An agency without a duty team is reported once, then waits until it has one.
        statement = statement.where(
            or_(
                DutyTeam.agency_code.is_not(None),
                Escalation.notify_error.is_(None),
                Escalation.notify_error != NO_DUTY_TEAM,
            )
        )
    else:
        statement = statement.where(DutyTeam.webhook_url.is_not(None))
    rows = (await session.execute(statement)).all()
    return [Due(id, attempts, team is not None) for id, attempts, team in rows]


async def claim(session: AsyncSession, due: Due, lease_until: datetime) -> bool:
    """Count the attempt and hold the item until `lease_until`; False if another notifier
    claimed it first or it has been closed since."""
    statement = (
        update(Escalation)
        .where(
            Escalation.id == due.id,
            Escalation.notify_attempts == due.attempts,
            Escalation.notified_at.is_(None),
            Escalation.status == OPEN,
        )
        .values(notify_attempts=due.attempts + 1, next_notify_at=lease_until)
    )
    return bool(getattr(await session.execute(statement), "rowcount", 0))


async def mark_no_duty_team(session: AsyncSession, due: Due) -> bool:
    """Note that the agency has no duty team; True for the one notifier that noted it."""
    statement = (
        update(Escalation)
        .where(
            Escalation.id == due.id,
            Escalation.notify_attempts == due.attempts,
            or_(Escalation.notify_error.is_(None), Escalation.notify_error != NO_DUTY_TEAM),
        )
        .values(notify_error=NO_DUTY_TEAM)
    )
    return bool(getattr(await session.execute(statement), "rowcount", 0))
