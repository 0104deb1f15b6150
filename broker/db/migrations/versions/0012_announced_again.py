"""announced again: how often the relay's sweep has announced a message or delivery again,
and when it may next, so that one a stage keeps failing on backs off instead of being
announced every sweep for ever, and never holds back the rest of the sweep

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("messages", "deliveries")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.add_column(
                sa.Column("times_announced_again", sa.Integer(), nullable=False, server_default="0")
            )
            table.add_column(
                sa.Column("announce_again_after", sa.DateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.drop_column("announce_again_after")
            table.drop_column("times_announced_again")
