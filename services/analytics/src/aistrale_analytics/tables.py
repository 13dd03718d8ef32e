"""analytics' tables (SQLAlchemy Core metadata; the migrations are the source of truth)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

usage_events = sa.Table(
    "usage_events",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost_micro_usd", sa.BigInteger, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
)
