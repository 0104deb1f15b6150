"""audit chain: hash links over audit records, the chain head, signed checkpoints; on
PostgreSQL a trigger refusing UPDATE and DELETE on the audit tables outside a prune

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS = "0" * 64

_GUARD = """
CREATE FUNCTION imb_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('imb.audit_prune', true), '') <> 'on' THEN
        RAISE EXCEPTION '% on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME;
    END IF;
    RETURN OLD;
END
$$ LANGUAGE plpgsql
"""
_GUARDED = ("audit_records", "audit_chain")


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("seq", BIG_ID, primary_key=True, autoincrement=False),
        sa.Column("record_id", BIG_ID, nullable=False, unique=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", BIG_ID, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", BIG_ID, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_GUARD)
        for table in _GUARDED:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION imb_audit_append_only()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _GUARDED:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION imb_audit_append_only()")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_head")
    op.drop_table("audit_chain")
