"""usage pipeline: every event field, exact rollups, export jobs; TimescaleDB where present

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _new_event_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("project_id", sa.String(64)),
        sa.Column("request_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("endpoint", sa.String(64), nullable=False, server_default=""),
        sa.Column("served_model", sa.String(200)),
        sa.Column("provider", sa.String(64)),
        sa.Column("deployment", sa.String(200)),
        sa.Column("stream", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error_type", sa.String(64)),
        sa.Column("cached_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tokens_estimated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("ttft_ms", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("fallback_from", sa.String(200)),
    ]


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        for column in _new_event_columns():
            batch.add_column(column)
    op.create_index("ix_usage_events_org_time", "usage_events", ["org_id", "occurred_at"])
    _create_rollups()
    _create_exports()
    if op.get_bind().dialect.name == "postgresql":
        _timescale_if_available()


def _create_rollups() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("bucket", sa.String(8), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("cached_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_micro_usd", sa.BigInteger, nullable=False),
        sa.Column("latency_ms_sum", sa.Float, nullable=False),
        sa.Column("ttft_ms_sum", sa.Float, nullable=False),
        sa.Column("ttft_count", sa.BigInteger, nullable=False),
    )


def _create_exports() -> None:
    op.create_table(
        "usage_exports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("range_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("range_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("rows", sa.BigInteger),
        sa.Column("object_key", sa.String(400)),
        sa.Column("error", sa.String(400)),
    )
    op.create_index("ix_usage_exports_org_id", "usage_exports", ["org_id"])


def _timescale_if_available() -> None:
    # TimescaleDB cannot be installed on our development machines: this branch is kept
    # minimal and only runs where the extension is available (see docs/usage-pipeline.md).
    available = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    )
    if available.first() is None:
        return
    for statement in (
        "CREATE EXTENSION IF NOT EXISTS timescaledb",
        # A hypertable's unique keys must contain the time column; occurred_at is part of
        # the immutable event, so (event_id, occurred_at) still dedupes redeliveries.
        "ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey",
        "ALTER TABLE usage_events ADD PRIMARY KEY (event_id, occurred_at)",
        "SELECT create_hypertable('usage_events', 'occurred_at', migrate_data => true)",
        "ALTER TABLE usage_events SET (timescaledb.compress,"
        " timescaledb.compress_segmentby = 'org_id')",
        "SELECT add_compression_policy('usage_events', INTERVAL '7 days')",
        "SELECT add_retention_policy('usage_events', INTERVAL '400 days')",
    ):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("usage_exports")
    op.drop_table("usage_rollups")
    op.drop_index("ix_usage_events_org_time", "usage_events")
    with op.batch_alter_table("usage_events") as batch:
        for column in reversed(_new_event_columns()):
            batch.drop_column(column.name)
