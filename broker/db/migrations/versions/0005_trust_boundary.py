"""trust boundary: consent records that name the refusals they set aside

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("consent_records") as table:
        table.add_column(sa.Column("supersedes", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_records") as table:
        table.drop_column("supersedes")
