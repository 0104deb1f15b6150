"""timeframes by risk level: the default policy times every event type by urgency and the
person's risk level; a database still holding the first default table gets the new one (and an
audit record saying so), an edited table is left as its administrators made it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)
_M, _H = 60.0, 3600.0
_DUTY, _BOTH, _REPORT = ["duty_team"], ["duty_team", "coordinator"], ["sender_report"]
# Both tables written out, so that this migration means the same thing forever.
FIRST_DEFAULTS = [
    ("crisis.occurred", "*", None, _M, 15 * _M, _BOTH),
    ("risk.changed", "*", "high", 5 * _M, _H, _DUTY),
    ("risk.changed", "*", "very_high", 5 * _M, _H, _DUTY),
    ("risk.changed", "*", None, _H, 24 * _H, _REPORT),
    ("engagement.disengaged", "*", None, 15 * _M, 24 * _H, _DUTY),
    ("*", "emergency", None, _M, 15 * _M, _BOTH),
    ("*", "urgent", None, 5 * _M, _H, _DUTY),
    ("*", "*", None, _H, 72 * _H, _REPORT),
]
_RISK_CHANGED = {
    ("emergency", "very_high"): (_M, 10 * _M, _BOTH),
    ("urgent", "very_high"): (_M, 15 * _M, _BOTH),
    ("routine", "very_high"): (5 * _M, 30 * _M, _DUTY),
    ("emergency", "high"): (_M, 15 * _M, _BOTH),
    ("urgent", "high"): (5 * _M, _H, _DUTY),
    ("routine", "high"): (15 * _M, 4 * _H, _DUTY),
    ("emergency", "medium"): (_M, 15 * _M, _BOTH),
    ("urgent", "medium"): (15 * _M, 4 * _H, _DUTY),
    ("routine", "medium"): (_H, 24 * _H, _REPORT),
    ("emergency", "low"): (5 * _M, 30 * _M, _DUTY),
    ("urgent", "low"): (_H, 24 * _H, _DUTY),
    ("routine", "low"): (4 * _H, 72 * _H, _REPORT),
}
_DISENGAGED = {
    **_RISK_CHANGED,
    ("routine", "medium"): (_H, 24 * _H, _DUTY),
    ("urgent", "low"): (30 * _M, 8 * _H, _DUTY),
    ("routine", "low"): (_H, 24 * _H, _DUTY),
}
BY_RISK_DEFAULTS = [
    ("crisis.occurred", "*", "very_high", _M, 10 * _M, _BOTH),
    ("crisis.occurred", "*", "high", _M, 15 * _M, _BOTH),
    ("crisis.occurred", "*", None, _M, 15 * _M, _BOTH),
    *(("risk.changed", u, r, *row) for (u, r), row in _RISK_CHANGED.items()),
    *(("engagement.disengaged", u, r, *row) for (u, r), row in _DISENGAGED.items()),
    ("*", "emergency", None, _M, 15 * _M, _BOTH),
    ("*", "urgent", None, 5 * _M, _H, _DUTY),
    ("*", "*", None, _H, 72 * _H, _REPORT),
]
POLICIES = sa.table(
    "timeframe_policies",
    sa.column("event_type", sa.String),
    sa.column("urgency", sa.String),
    sa.column("risk_level", sa.String),
    sa.column("deliver_within_seconds", sa.Float),
    sa.column("ack_within_seconds", sa.Float),
    sa.column("escalation", JSON),
    sa.column("escalation_interval_seconds", sa.Float),
    sa.column("updated_at", UTC_TIME),
)
AUDIT = sa.table(
    "audit_records",
    sa.column("recorded_at", UTC_TIME),
    sa.column("event", sa.String),
    sa.column("actor_agency", sa.String),
    sa.column("actor_client", sa.String),
    sa.column("detail", JSON),
)


def upgrade() -> None:
    _replace_if_untouched(FIRST_DEFAULTS, BY_RISK_DEFAULTS)


def downgrade() -> None:
    _replace_if_untouched(BY_RISK_DEFAULTS, FIRST_DEFAULTS)


def _replace_if_untouched(old: list[tuple[Any, ...]], new: list[tuple[Any, ...]]) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            POLICIES.c.event_type,
            POLICIES.c.urgency,
            POLICIES.c.risk_level,
            POLICIES.c.deliver_within_seconds,
            POLICIES.c.ack_within_seconds,
            POLICIES.c.escalation,
            POLICIES.c.escalation_interval_seconds,
        )
    ).all()
    if sorted(map(_comparable, rows)) != sorted(_comparable((*row, None)) for row in old):
        return  # an administrator's own table: theirs to change
    now = datetime.now(UTC)
    in_use = connection.execute(sa.select(sa.func.count()).select_from(AUDIT)).scalar_one() > 0
    connection.execute(sa.delete(POLICIES))
    connection.execute(sa.insert(POLICIES), [_values(row, now) for row in new])
    if in_use:  # a new installation has no trail to tell; one in use is told what changed
        _note(connection, old, new, now)


def _note(
    connection: Any, old: list[tuple[Any, ...]], new: list[tuple[Any, ...]], now: datetime
) -> None:
    detail = {
        "reason": f"the default timeframe policy, revision {revision}",
        "policies": [_view(row) for row in new],
        "previous": [_view(row) for row in old],
    }
    connection.execute(
        sa.insert(AUDIT).values(
            recorded_at=now,
            event="timeframes.replaced",
            actor_agency=None,
            actor_client=f"migration:{revision}",
            detail=detail,
        )
    )


def _comparable(row: Any) -> tuple[Any, ...]:
    event_type, urgency, risk, deliver, ack, route, interval = row
    return (event_type, urgency, risk or "", float(deliver), float(ack), tuple(route), interval)


def _values(row: tuple[Any, ...], at: datetime) -> dict[str, Any]:
    event_type, urgency, risk, deliver, ack, route = row
    return {
        "event_type": event_type,
        "urgency": urgency,
        "risk_level": risk,
        "deliver_within_seconds": deliver,
        "ack_within_seconds": ack,
        "escalation": route,
        "escalation_interval_seconds": None,
        "updated_at": at,
    }


def _view(row: tuple[Any, ...]) -> dict[str, Any]:
    event_type, urgency, risk, deliver, ack, route = row
    return {
        "event_type": event_type,
        "urgency": urgency,
        "risk_level": risk,
        "deliver_within_seconds": deliver,
        "ack_within_seconds": ack,
        "escalation": route,
    }
