"""api_keys, orgs: queue_wait_s and queue_priority, the router queue's per key/org settings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("api_keys", "orgs"):
        with op.batch_alter_table(table) as batch:  # null: inherit (docs/router.md "Queueing")
            batch.add_column(sa.Column("queue_wait_s", sa.Float, nullable=True))
            batch.add_column(sa.Column("queue_priority", sa.Integer, nullable=True))


def downgrade() -> None:
    for table in ("orgs", "api_keys"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("queue_priority")
            batch.drop_column("queue_wait_s")
