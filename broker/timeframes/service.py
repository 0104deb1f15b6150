"""ReadTimeframes and ReplaceTimeframes: the partnership's deadline policy (docs/timeframes.md)."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import TimeframePolicy
from broker.runtime import Runtime
from broker.timeframes.policy import Policy, Timeframe
from broker.timeframes.repository import current_policies, replace_policies
from schemas.timeframes import TimeframePolicyBody, TimeframesBody


async def timeframes_view(session: AsyncSession) -> dict[str, Any]:
    """The policy table, most specific rows first, as the API reads and writes it."""
    policies = sorted(await current_policies(session), key=lambda p: -p.specificity)
    updated_at = await session.scalar(select(func.max(TimeframePolicy.updated_at)))
    return {
        "policies": [policy_view(p) for p in policies],
        "updated_at": updated_at.isoformat() if updated_at else None,
    }


def policy_view(policy: Policy) -> dict[str, Any]:
    timeframe = policy.timeframe.to_dict()
    if policy.timeframe.escalation_interval is None:
        timeframe["escalation_interval"] = None  # not set: each step waits ack_within
    return {
        "event_type": policy.event_type,
        "urgency": policy.urgency,
        "risk_level": policy.risk_level,
        **timeframe,
    }


async def replace_timeframes(
    session: AsyncSession, rt: Runtime, actor: Actor, body: TimeframesBody
) -> dict[str, Any]:
    """The whole table at once. Deadlines already set on deliveries keep their values."""
    previous = [policy_view(p) for p in await current_policies(session)]
    now = rt.clock()
    await replace_policies(session, [to_policy(row) for row in body.policies], now)
    await session.flush()
    view = await timeframes_view(session)
    detail = {"policies": view["policies"], "previous": previous}
    append(session, AuditEvent.TIMEFRAMES_REPLACED, actor, now, detail=detail)
    return view


def to_policy(row: TimeframePolicyBody) -> Policy:
    return Policy(
        event_type=str(row.event_type),
        urgency=str(row.urgency),
        risk_level=None if row.risk_level is None else row.risk_level.value,
        timeframe=Timeframe(
            deliver_within=row.deliver_within,
            ack_within=row.ack_within,
            escalation=tuple(row.escalation),
            escalation_interval=row.escalation_interval,
        ),
    )
