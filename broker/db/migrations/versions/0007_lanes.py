"""lanes: every message, delivery and outbox entry says whether it travels in the urgent or the
routine lane; messages and deliveries already held are put in their lane (urgent: urgency
urgent or emergency, or a crisis.occurred), so the inbox lists them urgent first from now on

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPUBLISHED = sa.text("published_at IS NULL")


def _lane_column() -> sa.Column[str]:
    return sa.Column("lane", sa.String(8), nullable=False, server_default="routine")


def upgrade() -> None:
    for table_name in ("messages", "deliveries", "outbox"):
        with op.batch_alter_table(table_name) as table:
            table.add_column(_lane_column())
    # Written out rather than imported, so that this migration means the same thing forever.
    op.execute(
        "UPDATE messages SET lane = 'urgent' "
        "WHERE urgency IN ('urgent', 'emergency') OR type = 'crisis.occurred'"
    )
    op.execute(
        "UPDATE deliveries SET lane = 'urgent' "
        "WHERE message_id IN (SELECT id FROM messages WHERE lane = 'urgent')"
    )
    op.create_index(
        "ix_deliveries_inbox_lane", "deliveries", ["recipient_agency", "lane", "created_at"]
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["lane", "id"],
        postgresql_where=UNPUBLISHED,
        sqlite_where=UNPUBLISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_index("ix_deliveries_inbox_lane", table_name="deliveries")
    for table_name in ("outbox", "deliveries", "messages"):
        with op.batch_alter_table(table_name) as table:
            table.drop_column("lane")
