"""All SQL of exports: the job table, and the rows a job streams out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from aistrale_analytics.ingest.repository import db_time
from aistrale_analytics.tables import usage_events, usage_exports
from aistrale_common.db import Database

# New columns go last, so that readers by position keep working.
CSV_COLUMNS = (
    "event_id", "occurred_at", "org_id", "project_id", "key_id", "request_id", "endpoint",
    "model", "served_model", "provider", "deployment", "stream", "status", "error_type",
    "prompt_tokens", "completion_tokens", "cached_tokens", "cost_micro_usd", "latency_ms",
    "ttft_ms", "attempts", "fallback_from", "experiment", "arm",
)  # fmt: skip


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def job_dict(row: RowMapping) -> dict[str, Any]:
    job = dict(row)
    for name in ("range_start", "range_end", "created_at", "finished_at"):
        job[name] = _utc(job[name])
    return job


class ExportRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _t(self, moment: datetime) -> datetime:
        return db_time(moment, self._db.dialect)

    async def create(self, job: dict[str, Any]) -> None:
        row = {**job}
        for name in ("range_start", "range_end", "created_at"):
            row[name] = self._t(row[name])
        async with self._db.transaction() as session:
            await session.execute(usage_exports.insert().values(**row))

    async def get(self, org_id: str, job_id: str) -> dict[str, Any] | None:
        query = sa.select(usage_exports).where(
            usage_exports.c.id == job_id, usage_exports.c.org_id == org_id
        )
        async with self._db.session() as session:
            row = (await session.execute(query)).mappings().first()
        return job_dict(row) if row else None

    async def claim_next(self) -> dict[str, Any] | None:
        """Takes the oldest pending job; the status guard makes the claim atomic across
        replicas (only one UPDATE matches)."""
        pending = (
            sa.select(usage_exports)
            .where(usage_exports.c.status == "pending")
            .order_by(usage_exports.c.created_at)
            .limit(1)
        )
        async with self._db.transaction() as session:
            row = (await session.execute(pending)).mappings().first()
            if row is None:
                return None
            claim = (
                usage_exports.update()
                .where(usage_exports.c.id == row["id"], usage_exports.c.status == "pending")
                .values(status="running")
            )
            claimed = await session.execute(claim)
        return job_dict(row) if claimed.rowcount == 1 else None  # type: ignore[attr-defined]

    async def finish(self, job_id: str, **values: Any) -> None:
        values["finished_at"] = self._t(datetime.now(UTC))
        async with self._db.transaction() as session:
            await session.execute(
                usage_exports.update().where(usage_exports.c.id == job_id).values(**values)
            )

    async def stream_events(
        self, org_id: str, start: datetime, end: datetime, chunk: int = 1000
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        query = (
            sa.select(*(usage_events.c[name] for name in CSV_COLUMNS))
            .where(
                usage_events.c.org_id == org_id,
                usage_events.c.occurred_at >= self._t(start),
                usage_events.c.occurred_at < self._t(end),
            )
            .order_by(usage_events.c.occurred_at, usage_events.c.event_id)
        )
        async with self._db.session() as session:
            result = await session.stream(query.execution_options(yield_per=chunk))
            async for partition in result.partitions(chunk):
                yield [tuple(row) for row in partition]
