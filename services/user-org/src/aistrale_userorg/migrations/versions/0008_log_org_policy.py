"""orgs: request-body logging opt-in, body retention, allowed regions (data residency)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(
            sa.Column("log_bodies", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("log_retention_days", sa.Integer, nullable=True))
        batch.add_column(sa.Column("allowed_regions", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("allowed_regions")
        batch.drop_column("log_retention_days")
        batch.drop_column("log_bodies")
