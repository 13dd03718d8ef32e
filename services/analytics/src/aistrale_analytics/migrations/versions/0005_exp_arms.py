"""usage_events.experiment, usage_events.arm: which experiment arm served a request

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain columns: on a Timescale hypertable (0002) ADD COLUMN of a nullable column
    # without a default is allowed, compressed chunks included, so nothing is guarded here.
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("experiment", sa.String(200)))
        batch.add_column(sa.Column("arm", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("arm")
        batch.drop_column("experiment")
