"""The deadlines of one delivery: the policy's timeframe, tightened by agreement or plan."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from broker.timeframes.policy import Deadlines, Policy, Timeframe, deadlines, select_timeframe
from schemas.timeframes import AgreedTimeframe


@dataclass(frozen=True, slots=True)
class Tightening:
    """Shorter deadlines from somewhere other than the policy table, and where from."""

    source: str  # e.g. "agreement:<id>/v2", "crisis_plan:<id>"
    deliver_within: timedelta | None
    ack_within: timedelta | None


@dataclass(frozen=True, slots=True)
class Assigned:
    timeframe: Timeframe
    deadlines: Deadlines
    record: dict[str, Any]  # kept on the delivery: what was applied and why


def risk_level_of(event_type: str, payload: Mapping[str, Any]) -> str | None:
    """The person's risk level as the event tells it, for the policy to time it by: the level a
    risk change moves to, the current level of a disengagement, and for a crisis very high when
    the risk is immediate, high otherwise."""
    if event_type == "crisis.occurred":
        immediate = payload.get("immediate_risk")
        return None if immediate is None else ("very_high" if immediate else "high")
    field = {"risk.changed": "current_level", "engagement.disengaged": "current_risk_level"}
    level = payload.get(field[event_type]) if event_type in field else None
    return str(level) if level is not None else None


def assign(
    policies: Sequence[Policy],
    event_type: str,
    urgency: str,
    risk_level: str | None,
    decided_at: datetime,
    tightenings: Iterable[Tightening] = (),
) -> Assigned:
    policy, timeframe, capped_by = select_timeframe(policies, event_type, urgency, risk_level)
    applied: list[str] = []
    for tightening in tightenings:
        tighter = timeframe.tightened(tightening.deliver_within, tightening.ack_within)
        if tighter != timeframe:
            timeframe = tighter
            applied.append(tightening.source)
    record = {
        **timeframe.to_dict(),
        "policy": {
            "event_type": policy.event_type,
            "urgency": policy.urgency,
            "risk_level": policy.risk_level,
        },
        "risk_level": risk_level,
        # The less urgent rows of the same event type and risk level that were shorter: an
        # emergency is never given longer than they give.
        "held_to": capped_by,
        "tightened_by": applied,
    }
    return Assigned(timeframe, deadlines(timeframe, decided_at), record)


def agreed_tightenings(
    source: str,
    agreed: Iterable[Mapping[str, Any]],
    event_type: str,
    urgency: str,
    risk_level: str | None,
) -> list[Tightening]:
    """An agreement's `timeframes` rows that apply to this delivery."""
    rows = (AgreedTimeframe.model_validate(row) for row in agreed)
    return [
        Tightening(source, row.deliver_within, row.ack_within)
        for row in rows
        if row.event_type in ("*", event_type)
        and row.urgency in ("*", urgency)
        and (row.risk_level is None or row.risk_level == risk_level)
    ]
