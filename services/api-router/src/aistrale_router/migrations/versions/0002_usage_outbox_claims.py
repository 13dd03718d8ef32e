"""usage_outbox claims: a replayer holds the rows it publishes until a lease runs out

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: rows already waiting are unclaimed, any replayer may take them.
    with op.batch_alter_table("usage_outbox") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(36), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claim_token")
