"""All SQL of the request log: keyset pages over usage_events, sealed bodies, body reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_analytics.ingest.repository import db_time
from aistrale_analytics.request_log.cursor import Position
from aistrale_analytics.tables import request_bodies, request_body_reads, usage_events

_E = usage_events.c
# `cached` is an optional event field (an exact-cache hit): read from the stored payload,
# false when the router that sent the event did not know it.
_CACHED = sa.func.coalesce(_E.payload["cached"].as_boolean(), sa.false()).label("cached")
_ROW = (
    _E.request_id,
    _E.occurred_at,
    _E.key_id,
    _E.model,
    _E.deployment,
    _E.provider,
    _E.region,
    _E.status,
    _E.prompt_tokens,
    _E.completion_tokens,
    _E.cost_micro_usd,
    _E.latency_ms,
    _E.ttft_ms,
    _CACHED,
    _E.error_type.label("error_code"),
    _E.event_id,
)


@dataclass(frozen=True, slots=True)
class Filters:
    org_id: str
    start: datetime
    end: datetime
    key_id: str | None = None
    model: str | None = None
    status: int | None = None


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def page(
    session: AsyncSession, filters: Filters, after: Position | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; ties on time ordered by request id then event id, so a page boundary
    is exact whatever the data."""
    dialect = _dialect(session)
    query = sa.select(*_ROW).where(
        _E.org_id == filters.org_id,
        _E.occurred_at >= db_time(filters.start, dialect),
        _E.occurred_at < db_time(filters.end, dialect),
    )
    for column, value in ((_E.key_id, filters.key_id), (_E.model, filters.model)):
        if value is not None:
            query = query.where(column == value)
    if filters.status is not None:
        query = query.where(_E.status == filters.status)
    if after is not None:
        mark = (db_time(after.occurred_at, dialect), after.request_id, after.event_id)
        query = query.where(
            sa.tuple_(_E.occurred_at, _E.request_id, _E.event_id) < sa.tuple_(*mark)
        )
    query = query.order_by(_E.occurred_at.desc(), _E.request_id.desc(), _E.event_id.desc())
    rows = (await session.execute(query.limit(limit))).mappings()
    return [{**r, "occurred_at": utc(r["occurred_at"])} for r in rows]


async def by_request_id(
    session: AsyncSession, org_id: str, request_id: str
) -> dict[str, Any] | None:
    """The request's latest event (a client may reuse a request id)."""
    query = (
        sa.select(*_ROW)
        .where(_E.org_id == org_id, _E.request_id == request_id)
        .order_by(_E.occurred_at.desc(), _E.event_id.desc())
        .limit(1)
    )
    row = (await session.execute(query)).mappings().first()
    return {**row, "occurred_at": utc(row["occurred_at"])} if row else None


async def insert_body(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert-if-new: a redelivered body event stores nothing twice."""
    dialect = _dialect(session)
    row = {
        **values,
        "occurred_at": db_time(values["occurred_at"], dialect),
        "expires_at": db_time(values["expires_at"], dialect),
    }
    exists = sa.select(request_bodies.c.event_id).where(
        request_bodies.c.event_id == row["event_id"]
    )
    if (await session.execute(exists)).first() is None:
        await session.execute(sa.insert(request_bodies).values(**row))


async def body_of(session: AsyncSession, org_id: str, event_id: str) -> dict[str, Any] | None:
    query = sa.select(request_bodies).where(
        request_bodies.c.org_id == org_id, request_bodies.c.event_id == event_id
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def record_read(session: AsyncSession, values: dict[str, Any]) -> None:
    row = {**values, "read_at": db_time(values["read_at"], _dialect(session))}
    await session.execute(sa.insert(request_body_reads).values(**row))


async def reads(session: AsyncSession, org_id: str, limit: int) -> list[dict[str, Any]]:
    query = (
        sa.select(request_body_reads)
        .where(request_body_reads.c.org_id == org_id)
        .order_by(request_body_reads.c.read_at.desc(), request_body_reads.c.id)
        .limit(limit)
    )
    return [{**r, "read_at": utc(r["read_at"])} for r in (await session.execute(query)).mappings()]


async def purge(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        sa.delete(request_bodies).where(
            request_bodies.c.expires_at <= db_time(now, _dialect(session))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def sealed_under_other_keks(
    session: AsyncSession, kek_id: str, limit: int
) -> list[dict[str, Any]]:
    """Rows a KEK rotation still has to re-wrap (the primary KEK is `kek_id`)."""
    query = (
        sa.select(
            request_bodies.c.event_id,
            request_bodies.c.prompt_sealed,
            request_bodies.c.completion_sealed,
        )
        .where(request_bodies.c.kek_id != kek_id)
        .order_by(request_bodies.c.event_id)
        .limit(limit)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def rewrap(session: AsyncSession, event_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        sa.update(request_bodies).where(request_bodies.c.event_id == event_id).values(**values)
    )
