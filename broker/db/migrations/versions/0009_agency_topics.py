"""agency topics and telling the duty team: a queued push names the channel it goes by, a
webhook (as every push did before) or the agency's own Kafka topic; a channel IMB turned off
records when, and when its agency's duty team is due to be told

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("webhook_pushes") as table:
        table.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="webhook")
        )
    with op.batch_alter_table("delivery_channels") as table:
        table.add_column(sa.Column("disabled_at", UTC_TIME, nullable=True))
        table.add_column(sa.Column("duty_notice_due_at", UTC_TIME, nullable=True))
        table.add_column(
            sa.Column("duty_notice_attempts", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index("ix_delivery_channels_duty_notice", "delivery_channels", ["duty_notice_due_at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_channels_duty_notice", table_name="delivery_channels")
    with op.batch_alter_table("delivery_channels") as table:
        for column in ("duty_notice_attempts", "duty_notice_due_at", "disabled_at"):
            table.drop_column(column)
    with op.batch_alter_table("webhook_pushes") as table:
        table.drop_column("channel")
