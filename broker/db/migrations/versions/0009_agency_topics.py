"""agency topics: a queued push names the channel it goes by, a webhook (as every push did
before) or the agency's own Kafka topic

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


def upgrade() -> None:
    with op.batch_alter_table("webhook_pushes") as table:
        table.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="webhook")
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_pushes") as table:
        table.drop_column("channel")
