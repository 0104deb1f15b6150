"""channel formats: a webhook or kafka channel pushes each delivery in a format, IMB's own JSON
(as every push did before) or one an extension registers (a FHIR R4 message)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_channels") as table:
        table.add_column(sa.Column("format", sa.String(16), nullable=False, server_default="imb"))


def downgrade() -> None:
    with op.batch_alter_table("delivery_channels") as table:
        table.drop_column("format")
