"""user-org's tables (SQLAlchemy Core metadata; the migrations are the source of truth)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

orgs = sa.Table(
    "orgs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
