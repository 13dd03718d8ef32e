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
    # 0002
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
    # 0004
    sa.Column("region", sa.String(64)),
    # 0005
    sa.Column("experiment", sa.String(200)),
    sa.Column("arm", sa.String(64)),
    # 0006: an answer from the router's exact cache, and what it saved
    sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("saved_micro_usd", sa.BigInteger, nullable=False, server_default="0"),
)
sa.Index("ix_usage_events_org_time", usage_events.c.org_id, usage_events.c.occurred_at)
sa.Index(
    "ix_usage_events_org_log",
    usage_events.c.org_id,
    usage_events.c.occurred_at,
    usage_events.c.request_id,
    usage_events.c.event_id,
)

# 0004: prompts and answers of orgs that opted in, each sealed on its own
# (aistrale_common.crypto); and who read them.
request_bodies = sa.Table(
    "request_bodies",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("region", sa.String(64)),
    sa.Column("kek_id", sa.String(32), nullable=False),
    sa.Column("prompt_sealed", sa.Text, nullable=False),
    sa.Column("completion_sealed", sa.Text),
    sa.Column("prompt_truncated", sa.Boolean, nullable=False),
    sa.Column("completion_truncated", sa.Boolean, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

sa.Index("ix_request_bodies_org_request", request_bodies.c.org_id, request_bodies.c.request_id)
sa.Index("ix_request_bodies_expires", request_bodies.c.expires_at)  # the purge

request_body_reads = sa.Table(
    "request_body_reads",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("bodies", sa.Integer, nullable=False),
)
sa.Index("ix_request_body_reads_org", request_body_reads.c.org_id, request_body_reads.c.read_at)

usage_rollups = sa.Table(
    "usage_rollups",
    metadata,
    sa.Column("bucket", sa.String(8), primary_key=True),  # minute | hour | day
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
    # 0004: answers from the router's exact cache, and what they would have cost
    sa.Column("cache_hits", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("saved_micro_usd", sa.BigInteger, nullable=False, server_default="0"),
)

usage_exports = sa.Table(
    "usage_exports",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending|running|succeeded|failed
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
