"""Which timeframe applies to a delivery, and the deadlines it sets. Pure: no I/O.

A policy row names an event type (or `*`), an urgency (or `*`) and optionally the risk level
it applies to: the level a `risk.changed` moves to, the current level of an
`engagement.disengaged`, and for a `crisis.occurred` very high with immediate risk, high
without. The most specific matching row wins: the event type counts most, then the risk level,
then the urgency.

Then one guarantee over any table an administrator writes: an emergency is never given longer
than an urgent or a routine event of the same type and risk level, nor an urgent longer than a
routine one (`select_timeframe`). Escalation pathways override routine processes; a table that
said otherwise by mistake must not slow the alert that matters most.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from schemas.timeframes import ANY
from schemas.vocabulary import EscalationStep

Step = EscalationStep


@dataclass(frozen=True, slots=True)
class Timeframe:
    deliver_within: timedelta
    ack_within: timedelta
    escalation: tuple[EscalationStep, ...]
    escalation_interval: timedelta | None = None

    @property
    def interval(self) -> timedelta:
        """How long each escalation step waits before the next one runs."""
        return self.escalation_interval or self.ack_within

    def tightened(
        self, deliver_within: timedelta | None, ack_within: timedelta | None
    ) -> "Timeframe":
        """The same route with shorter deadlines where given; never longer ones."""
        deliver = min(self.deliver_within, deliver_within or self.deliver_within)
        ack = min(self.ack_within, ack_within or self.ack_within)
        return replace(self, deliver_within=min(deliver, ack), ack_within=ack)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deliver_within": iso_duration(self.deliver_within),
            "ack_within": iso_duration(self.ack_within),
            "escalation": [step.value for step in self.escalation],
            "escalation_interval": iso_duration(self.interval),
        }


@dataclass(frozen=True, slots=True)
class Policy:
    event_type: str  # or ANY
    urgency: str  # or ANY
    risk_level: str | None
    timeframe: Timeframe

    def matches(self, event_type: str, urgency: str, risk_level: str | None) -> bool:
        return (
            self.event_type in (ANY, event_type)
            and self.urgency in (ANY, urgency)
            and (self.risk_level is None or self.risk_level == risk_level)
        )

    @property
    def specificity(self) -> int:
        return (
            4 * (self.event_type != ANY)
            + 2 * (self.risk_level is not None)
            + 1 * (self.urgency != ANY)
        )

    @property
    def key(self) -> tuple[str, str, str | None]:
        return self.event_type, self.urgency, self.risk_level


@dataclass(frozen=True, slots=True)
class Deadlines:
    deliver_by: datetime
    ack_by: datetime


class NoPolicy(LookupError):
    """No row matches: a policy table without its catch-all row."""


def _row(
    event_type: str,
    urgency: str,
    deliver: timedelta,
    ack: timedelta,
    route: tuple[EscalationStep, ...],
    risk_level: str | None = None,
) -> Policy:
    return Policy(event_type, urgency, risk_level, Timeframe(deliver, ack, route))


_MINUTE, _HOUR = timedelta(minutes=1), timedelta(hours=1)
_DUTY = (Step.DUTY_TEAM,)
_DUTY_THEN_COORDINATOR = (Step.DUTY_TEAM, Step.COORDINATOR)
_REPORT = (Step.SENDER_REPORT,)
URGENCIES = ("routine", "urgent", "emergency")  # least urgent first

# How soon a duty team manager expects a risk change or a disengagement to be in the inbox and
# acknowledged, by the person's risk level and the sender's urgency (docs/timeframes.md gives
# the reasoning): minutes at very high risk or in an emergency, days at low risk and routine.
Grade = dict[str, dict[str, tuple[timedelta, timedelta, tuple[Step, ...]]]]
_BY_RISK: Grade = {
    "very_high": {
        "emergency": (_MINUTE, 10 * _MINUTE, _DUTY_THEN_COORDINATOR),
        "urgent": (_MINUTE, 15 * _MINUTE, _DUTY_THEN_COORDINATOR),
        "routine": (5 * _MINUTE, 30 * _MINUTE, _DUTY),
    },
    "high": {
        "emergency": (_MINUTE, 15 * _MINUTE, _DUTY_THEN_COORDINATOR),
        "urgent": (5 * _MINUTE, _HOUR, _DUTY),
        "routine": (15 * _MINUTE, 4 * _HOUR, _DUTY),
    },
    "medium": {
        "emergency": (_MINUTE, 15 * _MINUTE, _DUTY_THEN_COORDINATOR),
        "urgent": (15 * _MINUTE, 4 * _HOUR, _DUTY),
        "routine": (_HOUR, 24 * _HOUR, _REPORT),
    },
    "low": {
        "emergency": (5 * _MINUTE, 30 * _MINUTE, _DUTY),
        "urgent": (_HOUR, 24 * _HOUR, _DUTY),
        "routine": (4 * _HOUR, 72 * _HOUR, _REPORT),
    },
}


# A person who has stopped engaging is a safeguarding concern at any level of risk: at low and
# medium risk a duty team still hears of it within a day, never the sender alone.
_DISENGAGED: Grade = {
    **_BY_RISK,
    "medium": {**_BY_RISK["medium"], "routine": (_HOUR, 24 * _HOUR, _DUTY)},
    "low": {
        "emergency": (5 * _MINUTE, 30 * _MINUTE, _DUTY),
        "urgent": (30 * _MINUTE, 8 * _HOUR, _DUTY),
        "routine": (_HOUR, 24 * _HOUR, _DUTY),
    },
}


def _graded(event_type: str, table: Grade) -> tuple[Policy, ...]:
    return tuple(
        _row(event_type, urgency, deliver, ack, route, risk_level=level)
        for level, by_urgency in table.items()
        for urgency, (deliver, ack, route) in by_urgency.items()
    )


# The default policy (docs/timeframes.md). A crisis is an emergency whatever its sender said,
# quicker still with immediate risk; event types the table does not name are timed by urgency.
DEFAULT_POLICIES: tuple[Policy, ...] = (
    _row("crisis.occurred", ANY, _MINUTE, 10 * _MINUTE, _DUTY_THEN_COORDINATOR, "very_high"),
    _row("crisis.occurred", ANY, _MINUTE, 15 * _MINUTE, _DUTY_THEN_COORDINATOR, "high"),
    _row("crisis.occurred", ANY, _MINUTE, 15 * _MINUTE, _DUTY_THEN_COORDINATOR),
    *_graded("risk.changed", _BY_RISK),
    *_graded("engagement.disengaged", _DISENGAGED),
    _row(ANY, "emergency", _MINUTE, 15 * _MINUTE, _DUTY_THEN_COORDINATOR),
    _row(ANY, "urgent", 5 * _MINUTE, _HOUR, _DUTY),
    _row(ANY, ANY, _HOUR, 72 * _HOUR, _REPORT),
)


def select_policy(
    policies: Iterable[Policy], event_type: str, urgency: str, risk_level: str | None
) -> Policy:
    """The most specific row that matches; ties cannot happen, as keys are unique."""
    matching = [p for p in policies if p.matches(event_type, urgency, risk_level)]
    if not matching:
        raise NoPolicy(f"no timeframe policy matches {event_type} / {urgency}")
    return max(matching, key=lambda p: p.specificity)


def select_timeframe(
    policies: Sequence[Policy], event_type: str, urgency: str, risk_level: str | None
) -> tuple[Policy, Timeframe, list[str]]:
    """The row that applies, its timeframe held to the urgency order, and the urgencies
    whose rows shortened it (none, for a table that keeps the order itself)."""
    policy = select_policy(policies, event_type, urgency, risk_level)
    timeframe, capped_by = policy.timeframe, list[str]()
    for calmer in URGENCIES[: URGENCIES.index(urgency)] if urgency in URGENCIES else ():
        other = select_policy(policies, event_type, calmer, risk_level).timeframe
        tighter = timeframe.tightened(other.deliver_within, other.ack_within)
        if tighter != timeframe:
            timeframe, capped_by = tighter, [*capped_by, calmer]
    return policy, timeframe, capped_by


def deadlines(timeframe: Timeframe, decided_at: datetime) -> Deadlines:
    return Deadlines(
        deliver_by=decided_at + timeframe.deliver_within,
        ack_by=decided_at + timeframe.ack_within,
    )


def loosened_by(
    agreed: tuple[str, str, str | None, timedelta | None, timedelta | None],
    policies: Sequence[Policy],
) -> list[str]:
    """Which of an agreement's durations are longer than the policy its key selects.

    `agreed` is (event_type, urgency, risk_level, deliver_within, ack_within). Applying an
    agreement only ever shortens a deadline (Timeframe.tightened), so a longer duration could
    never take effect: it is refused rather than silently ignored.
    """
    event_type, urgency, risk_level, deliver_within, ack_within = agreed
    policy = select_policy(policies, event_type, urgency, risk_level).timeframe
    loosened = []
    if deliver_within is not None and deliver_within > policy.deliver_within:
        loosened.append("deliver_within")
    if ack_within is not None and ack_within > policy.ack_within:
        loosened.append("ack_within")
    return loosened


def iso_duration(value: timedelta) -> str:
    """ISO 8601, as the API reads it: P1DT2H30M, PT15M, PT0.5S."""
    total = value.total_seconds()
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    date_part = f"{int(days)}D" if days else ""
    time_part = "".join(
        f"{int(amount)}{unit}" for amount, unit in ((hours, "H"), (minutes, "M")) if amount
    )
    if seconds:
        time_part += f"{seconds:g}S"
    if not date_part and not time_part:
        time_part = "0S"
    return f"P{date_part}" + (f"T{time_part}" if time_part else "")
