"""trust boundary: consent records that name the refusals they set aside; clients whose
credentials can be replaced (a version every token carries), and that authenticate with a
private key (a JWK or a JWKS address) or a certificate subject instead of a secret; the
assertion ids already used, so that none is accepted twice; each agency's rate limits; failed
sign-ins and lockouts per username

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
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("consent_records") as table:
        table.add_column(sa.Column("supersedes", JSON, nullable=True))
    with op.batch_alter_table("clients") as table:
        table.add_column(
            sa.Column("credentials_version", sa.Integer(), nullable=False, server_default="1")
        )
        table.add_column(
            sa.Column("auth_method", sa.String(32), nullable=False, server_default="client_secret")
        )
        table.add_column(sa.Column("jwks", JSON, nullable=True))
        table.add_column(sa.Column("jwks_url", sa.String(2000), nullable=True))
        table.add_column(sa.Column("tls_subject_dn", sa.String(1000), nullable=True))
        table.alter_column("secret_hash", existing_type=sa.String(128), nullable=True)
    op.create_table(
        "client_assertion_ids",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", UTC_TIME, nullable=False, index=True),
    )

    op.create_table(
        "agency_rate_limits",
        sa.Column("agency_code", sa.String(16), sa.ForeignKey("agencies.code"), primary_key=True),
        sa.Column("publish", sa.String(40), nullable=True),
        sa.Column("read", sa.String(40), nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", UTC_TIME, nullable=True),
        sa.Column("last_failure_at", UTC_TIME, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("sign_in_attempts")
    op.drop_table("agency_rate_limits")
    op.drop_table("client_assertion_ids")
    with op.batch_alter_table("clients") as table:
        table.alter_column("secret_hash", existing_type=sa.String(128), nullable=False)
        for column in ("tls_subject_dn", "jwks_url", "jwks", "auth_method", "credentials_version"):
            table.drop_column(column)
    with op.batch_alter_table("consent_records") as table:
        table.drop_column("supersedes")
