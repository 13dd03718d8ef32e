"""request log: usage_events.region and a keyset index; encrypted request bodies; body reads

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("region", sa.String(64)))
    # The request log pages an org's events newest first by (time, request id, event id):
    # one index range scan per page, whatever the offset.
    op.create_index(
        "ix_usage_events_org_log",
        "usage_events",
        ["org_id", "occurred_at", "request_id", "event_id"],
    )
    op.create_table(
        "request_bodies",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("region", sa.String(64)),
        sa.Column("kek_id", sa.String(32), nullable=False),
        sa.Column("prompt_sealed", sa.Text, nullable=False),
        sa.Column("completion_sealed", sa.Text),
        sa.Column("prompt_truncated", sa.Boolean, nullable=False),
        sa.Column("completion_truncated", sa.Boolean, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_request_bodies_org_request", "request_bodies", ["org_id", "request_id"])
    op.create_index("ix_request_bodies_expires", "request_bodies", ["expires_at"])
    op.create_table(
        "request_body_reads",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("read_at", TS, nullable=False),
        sa.Column("bodies", sa.Integer, nullable=False),
    )
    op.create_index("ix_request_body_reads_org", "request_body_reads", ["org_id", "read_at"])


def downgrade() -> None:
    op.drop_table("request_body_reads")
    op.drop_table("request_bodies")
    op.drop_index("ix_usage_events_org_log", table_name="usage_events")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("region")
