"""api-router's tables: the durable usage outbox, local to each replica.

Events wait here while RabbitMQ is down and are replayed when it is back (DESIGN.md step 5).
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
)
