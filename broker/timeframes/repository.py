"""The timeframe policy table: read as pure policies, replaced whole."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import TimeframePolicy
from broker.timeframes.policy import Policy, Timeframe
from schemas.vocabulary import EscalationStep


async def current_policies(session: AsyncSession) -> list[Policy]:
    rows = await session.scalars(select(TimeframePolicy).order_by(TimeframePolicy.id))
    return [to_policy(row) for row in rows]


def to_policy(row: TimeframePolicy) -> Policy:
    interval = row.escalation_interval_seconds
    return Policy(
        event_type=row.event_type,
        urgency=row.urgency,
        risk_level=row.risk_level,
        timeframe=Timeframe(
            deliver_within=timedelta(seconds=row.deliver_within_seconds),
            ack_within=timedelta(seconds=row.ack_within_seconds),
            escalation=tuple(EscalationStep(step) for step in row.escalation),
            escalation_interval=None if interval is None else timedelta(seconds=interval),
        ),
    )


async def replace_policies(session: AsyncSession, policies: Sequence[Policy], at: datetime) -> None:
    """The whole table at once, so that no delivery is ever timed by half of each."""
    await session.execute(delete(TimeframePolicy))
    session.add_all(
        TimeframePolicy(
            event_type=p.event_type,
            urgency=p.urgency,
            risk_level=p.risk_level,
            deliver_within_seconds=p.timeframe.deliver_within.total_seconds(),
            ack_within_seconds=p.timeframe.ack_within.total_seconds(),
            escalation=[step.value for step in p.timeframe.escalation],
            escalation_interval_seconds=None
            if p.timeframe.escalation_interval is None
            else p.timeframe.escalation_interval.total_seconds(),
            updated_at=at,
        )
        for p in policies
    )
