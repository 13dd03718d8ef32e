"""api-router's tables: the durable usage outbox, local to each replica by default.

Events wait here while RabbitMQ is down and are replayed when it is back (DESIGN.md step 5).
Replicas may also share one Postgres database: a replayer then claims the rows it publishes
(`claim_token`, held until `claimed_until`), so that two never replay the same rows at once.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

usage_outbox = sa.Table(
    "usage_outbox",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("routing_key", sa.String(200), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("claim_token", sa.String(36), nullable=True),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
)

# Responses API (`store`): one row per stored response, read only by the org that made it
# (protocols/responses/store.py); purged past the retention setting.
stored_responses = sa.Table(
    "stored_responses",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
)
