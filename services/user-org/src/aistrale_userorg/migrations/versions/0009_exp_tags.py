"""api_keys.tags, orgs.tags: routing tags the router's catalog rules match

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("api_keys", "orgs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tags", sa.JSON, nullable=True))  # null: no tags


def downgrade() -> None:
    for table in ("orgs", "api_keys"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tags")
