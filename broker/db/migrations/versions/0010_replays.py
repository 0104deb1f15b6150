"""replays: a message replayed to its recipients gets new deliveries, each linked to the one it
replays (`replay_of`); a recipient's first delivery of a message stays unique, and a delivery
is replayed at most once (a second replay replays the replay)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The backbone's unique (message_id, recipient_agency) was created without a name: this names
# it the way each database reports it, so that it can be dropped on both.
NAMES = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}
FIRST_DECISION = sa.text("replay_of IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", naming_convention=NAMES) as table:
        table.drop_constraint("deliveries_message_id_recipient_agency_key", type_="unique")
        table.add_column(
            sa.Column(
                "replay_of",
                sa.Uuid(),
                sa.ForeignKey("deliveries.id", name="fk_deliveries_replay_of"),
                nullable=True,
            )
        )
    op.create_index(
        "ux_deliveries_first_decision",
        "deliveries",
        ["message_id", "recipient_agency"],
        unique=True,
        postgresql_where=FIRST_DECISION,
        sqlite_where=FIRST_DECISION,
    )
    op.create_index("ux_deliveries_replay_of", "deliveries", ["replay_of"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_deliveries_replay_of", table_name="deliveries")
    op.drop_index("ux_deliveries_first_decision", table_name="deliveries")
    op.execute("DELETE FROM deliveries WHERE replay_of IS NOT NULL")
    with op.batch_alter_table("deliveries") as table:
        table.drop_constraint("fk_deliveries_replay_of", type_="foreignkey")
        table.drop_column("replay_of")
        table.create_unique_constraint(
            "deliveries_message_id_recipient_agency_key", ["message_id", "recipient_agency"]
        )
