"""delivery channels: how IMB pushes an agency's deliveries beside its inbox (webhook or the
agency's own Kafka topic), each webhook push with its attempts, and each agency's delivery
sequence numbers; an agency without a channel reads its inbox only, as before

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)
# As the other tables' ids: BIGINT, an INTEGER on SQLite so that it autoincrements there.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agency_sequences",
        sa.Column("agency_code", sa.String(16), sa.ForeignKey("agencies.code"), primary_key=True),
        sa.Column("last_seq", BIG_ID, nullable=False),
    )
    with op.batch_alter_table("deliveries") as table:
        table.add_column(sa.Column("seq", BIG_ID, nullable=True))
    # Deliveries made available before sequence numbers have none; each agency starts at 1.
    op.create_index(
        "ux_deliveries_recipient_seq", "deliveries", ["recipient_agency", "seq"], unique=True
    )
    op.create_table(
        "delivery_channels",
        sa.Column("agency_code", sa.String(16), sa.ForeignKey("agencies.code"), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("public_key", sa.String(100), nullable=True),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_until", UTC_TIME, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("disabled_reason", sa.String(200), nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "webhook_pushes",
        sa.Column("delivery_id", sa.Uuid(), sa.ForeignKey("deliveries.id"), primary_key=True),
        sa.Column("agency_code", sa.String(16), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_webhook_pushes_due", "webhook_pushes", ["state", "next_attempt_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.Uuid(), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ux_deliveries_recipient_seq", table_name="deliveries")
    with op.batch_alter_table("deliveries") as table:
        table.drop_column("seq")
    op.drop_table("agency_sequences")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_pushes")
    op.drop_table("delivery_channels")
