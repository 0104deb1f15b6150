"""timeframes: policies (seeded with the default policy), deadlines and breaches on deliveries, duty
teams, escalations, crisis plans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_MINUTE, _HOUR = 60.0, 3600.0
# The default policy as rows: (event_type, urgency, risk_level, deliver within, ack within, route).
# Written out here rather than imported, so this migration means the same thing forever.
DEFAULT_POLICIES = [
    ("crisis.occurred", "*", None, _MINUTE, 15 * _MINUTE, ["duty_team", "coordinator"]),
    ("risk.changed", "*", "high", 5 * _MINUTE, _HOUR, ["duty_team"]),
    ("risk.changed", "*", "very_high", 5 * _MINUTE, _HOUR, ["duty_team"]),
    ("risk.changed", "*", None, _HOUR, 24 * _HOUR, ["sender_report"]),
    ("engagement.disengaged", "*", None, 15 * _MINUTE, 24 * _HOUR, ["duty_team"]),
    ("*", "emergency", None, _MINUTE, 15 * _MINUTE, ["duty_team", "coordinator"]),
    ("*", "urgent", None, 5 * _MINUTE, _HOUR, ["duty_team"]),
    ("*", "*", None, _HOUR, 72 * _HOUR, ["sender_report"]),
]


def upgrade() -> None:
    _create_timeframe_policies()
    _create_duty_teams()
    _create_crisis_plans()
    _add_deadline_columns()
    _create_escalations()


def _create_timeframe_policies() -> None:
    policies = op.create_table(
        "timeframe_policies",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.Column("deliver_within_seconds", sa.Float(), nullable=False),
        sa.Column("ack_within_seconds", sa.Float(), nullable=False),
        sa.Column("escalation", JSON, nullable=False),
        sa.Column("escalation_interval_seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    seeded_at = datetime(2026, 11, 25, tzinfo=UTC)
    op.bulk_insert(
        policies,
        [
            {
                "event_type": event_type,
                "urgency": urgency,
                "risk_level": risk_level,
                "deliver_within_seconds": deliver,
                "ack_within_seconds": ack,
                "escalation": route,
                "escalation_interval_seconds": None,
                "updated_at": seeded_at,
            }
            for event_type, urgency, risk_level, deliver, ack, route in DEFAULT_POLICIES
        ],
    )


def _create_duty_teams() -> None:
    op.create_table(
        "duty_teams",
        sa.Column("agency_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.PrimaryKeyConstraint("agency_code"),
    )


def _create_crisis_plans() -> None:
    op.create_table(
        "crisis_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("lead_agency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("ack_within_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by_agency", sa.String(length=16), nullable=False),
        sa.Column("created_by_client", sa.String(length=64), nullable=False),
        sa.Column("activated_at", UTC_TIME, nullable=True),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["subject_pseudonym"], ["subjects.pseudonym"]),
        sa.ForeignKeyConstraint(["lead_agency"], ["agencies.code"]),
        sa.ForeignKeyConstraint(["created_by_agency"], ["agencies.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crisis_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crisis_plans_subject_pseudonym"), ["subject_pseudonym"]
        )
    op.create_table(
        "crisis_plan_partners",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("agency_code", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("ack_within_seconds", sa.Float(), nullable=True),
        sa.Column("confirmed_at", UTC_TIME, nullable=True),
        sa.Column("confirmed_by", JSON, nullable=True),
        sa.Column("confirmed_by_client", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["crisis_plans.id"]),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.PrimaryKeyConstraint("plan_id", "agency_code"),
    )


def _add_deadline_columns() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timeframe", JSON, nullable=True))
        batch_op.add_column(sa.Column("crisis_plan_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("delivery_breached_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("ack_breached_at", UTC_TIME, nullable=True))
        batch_op.add_column(
            sa.Column("escalation_step", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("next_escalation_at", UTC_TIME, nullable=True))
        batch_op.create_foreign_key(
            "fk_deliveries_crisis_plan_id", "crisis_plans", ["crisis_plan_id"], ["id"]
        )
        batch_op.create_index("ix_deliveries_deliver_by", ["status", "deliver_by"])
        batch_op.create_index("ix_deliveries_ack_by", ["status", "ack_by"])
        batch_op.create_index("ix_deliveries_next_escalation_at", ["next_escalation_at"])


def _create_escalations() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("agency_code", sa.String(length=16), nullable=False),
        sa.Column("breach", sa.String(length=16), nullable=False),
        sa.Column("deadline", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTC_TIME, nullable=False),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("closed_by", JSON, nullable=True),
        sa.Column("close_note_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("notified_at", UTC_TIME, nullable=True),
        sa.Column("notify_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notify_error", sa.String(length=500), nullable=True),
        sa.Column("next_notify_at", UTC_TIME, nullable=True),
        sa.Column("notified_via", JSON, nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "step"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalations_delivery_id"), ["delivery_id"])
        batch_op.create_index(batch_op.f("ix_escalations_notified_at"), ["notified_at"])
        batch_op.create_index("ix_escalations_queue", ["agency_code", "status", "opened_at"])


def downgrade() -> None:
    op.drop_table("escalations")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_next_escalation_at")
        batch_op.drop_index("ix_deliveries_ack_by")
        batch_op.drop_index("ix_deliveries_deliver_by")
        batch_op.drop_constraint("fk_deliveries_crisis_plan_id", type_="foreignkey")
        for column in (
            "next_escalation_at",
            "escalation_step",
            "ack_breached_at",
            "delivery_breached_at",
            "crisis_plan_id",
            "timeframe",
        ):
            batch_op.drop_column(column)
    op.drop_table("crisis_plan_partners")
    op.drop_table("crisis_plans")
    op.drop_table("duty_teams")
    op.drop_table("timeframe_policies")
