"""All SQL of ingestion: insert-if-new raw events, add deltas to rollups.

The statements are built once per dialect: building an upsert (its `excluded` columns) and
compiling it cost more than committing a batch of events on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aistrale_analytics.ingest.rollup import RollupDelta, RollupKey
from aistrale_analytics.tables import usage_events, usage_rollups
from aistrale_common.events.schemas import UsageEventV1

_SUMMED = tuple(RollupDelta.__dataclass_fields__)


def db_time(moment: datetime, dialect: str) -> datetime:
    """UTC; naive on SQLite, which stores no zone (so comparisons stay lexical and right)."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.replace(tzinfo=None) if dialect == "sqlite" else utc


def _insert(table: sa.Table, dialect: str) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _event_row(event: UsageEventV1, dialect: str) -> dict[str, Any]:
    row = event.model_dump(exclude={"schema_version", "event_id", "occurred_at"})
    row["event_id"] = str(event.event_id)
    row["occurred_at"] = db_time(event.occurred_at, dialect)
    row["payload"] = event.model_dump(mode="json")
    return row


Executor = AsyncConnection | AsyncSession


@cache
def _insert_events(dialect: str) -> Any:
    return (
        _insert(usage_events, dialect).on_conflict_do_nothing().returning(usage_events.c.event_id)
    )


@cache
def _upsert_rollups(dialect: str) -> Any:
    stmt = _insert(usage_rollups, dialect)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["bucket", "org_id", "bucket_start", "key_id", "model"],
        set_={name: usage_rollups.c[name] + excluded[name] for name in _SUMMED},
    )


async def insert_new_events(db: Executor, events: Sequence[UsageEventV1], dialect: str) -> set[str]:
    """Inserts the events; returns the ids that were new (a redelivery inserts nothing)."""
    # executemany with RETURNING: one cached statement, sent as multi-row batches.
    result = await db.execute(_insert_events(dialect), [_event_row(e, dialect) for e in events])
    return {str(event_id) for event_id in result.scalars()}


async def add_to_rollups(
    db: Executor, deltas: Sequence[tuple[RollupKey, RollupDelta]], dialect: str
) -> None:
    if deltas:
        rows = [_rollup_row(key, delta, dialect) for key, delta in deltas]
        await db.execute(_upsert_rollups(dialect), rows)


def _rollup_row(key: RollupKey, delta: RollupDelta, dialect: str) -> dict[str, Any]:
    bucket, org_id, start, key_id, model = key
    return {
        "bucket": bucket,
        "org_id": org_id,
        "bucket_start": db_time(start, dialect),
        "key_id": key_id,
        "model": model,
        **asdict(delta),
    }
