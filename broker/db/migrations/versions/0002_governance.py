"""governance: approvals by a named person, override reviews, web users and their sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("agreement_parties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by", JSON, nullable=True))
    _create_overrides()
    _create_users()
    _create_web_sessions()


def _create_overrides() -> None:
    op.create_table(
        "overrides",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("sender_agency", sa.String(length=16), nullable=False),
        sa.Column("recipient_agency", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("authorised_by", sa.String(length=200), nullable=False),
        sa.Column("justification_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("agreement_id", sa.Uuid(), nullable=True),
        sa.Column("agreement_version", sa.Integer(), nullable=True),
        sa.Column("bases", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTC_TIME, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("review_note_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("reviewed_by", JSON, nullable=True),
        sa.Column("reviewed_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["sender_agency"], ["agencies.code"]),
        sa.ForeignKeyConstraint(["recipient_agency"], ["agencies.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id"),
    )
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_overrides_message_id"), ["message_id"])
        batch_op.create_index(batch_op.f("ix_overrides_sender_agency"), ["sender_agency"])
        batch_op.create_index(batch_op.f("ix_overrides_recipient_agency"), ["recipient_agency"])
        batch_op.create_index(batch_op.f("ix_overrides_status"), ["status"])


def _create_users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("agency_code", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("disabled_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_agency_code"), ["agency_code"])


def _create_web_sessions() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"])


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("users")
    op.drop_table("overrides")
    with op.batch_alter_table("agreement_parties", schema=None) as batch_op:
        batch_op.drop_column("approved_by")
