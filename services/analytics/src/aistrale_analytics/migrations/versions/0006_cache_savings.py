"""cache savings: answers served from the router's exact cache, and the money they saved

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("cache_hits", "saved_micro_usd")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column(
            "usage_rollups", sa.Column(name, sa.BigInteger, nullable=False, server_default="0")
        )
    # The raw events too: the usage API sums them for groups the rollups do not hold.
    op.add_column(
        "usage_events", sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column(
        "usage_events",
        sa.Column("saved_micro_usd", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("saved_micro_usd")
        batch.drop_column("cached")
    with op.batch_alter_table("usage_rollups") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
