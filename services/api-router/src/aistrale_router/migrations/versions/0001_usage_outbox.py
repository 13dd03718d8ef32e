"""usage_outbox: usage events not yet confirmed by RabbitMQ

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_outbox",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_usage_outbox_created_at", "usage_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_table("usage_outbox")
