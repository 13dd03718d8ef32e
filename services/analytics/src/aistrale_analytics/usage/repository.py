"""All SQL of the usage API. Sums come from the rollups (exact, cheap) where they hold the
group (none, model, key), else from the raw events (arm, deployment, provider: the rollups'
key would grow by three columns for queries an admin runs now and then); percentiles always
from the raw events: percentile_cont on Postgres, the same rule in Python on SQLite."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_analytics.ingest.repository import db_time
from aistrale_analytics.ingest.rollup import bucket_start
from aistrale_analytics.tables import usage_events, usage_rollups
from aistrale_analytics.usage.percentiles import QUANTILES, quantiles
from aistrale_analytics.usage.schemas import Bucket, GroupBy

TOTALS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_micro_usd",
)
Group = tuple[str | None, ...]  # the group's column values, in GROUP_COLUMNS' order
GroupKey = tuple[datetime, Group]
Quantiles = tuple[float, ...] | None
GROUP_COLUMNS: dict[GroupBy, tuple[str, ...]] = {
    "model": ("model",),
    "key": ("key_id",),
    "arm": ("experiment", "arm"),
    "deployment": ("deployment",),
    "provider": ("provider",),
}
ROLLED_UP: frozenset[GroupBy | None] = frozenset({None, "model", "key"})


@dataclass(frozen=True, slots=True)
class Window:
    org_id: str
    start: datetime
    end: datetime


def _group_columns(table: sa.Table, group_by: GroupBy | None) -> list[Any]:
    # No constant stands in for "no group": Postgres refuses constants in GROUP BY.
    if group_by is None:
        return []
    return [table.c[name].label(f"g{i}") for i, name in enumerate(GROUP_COLUMNS[group_by])]


def _group(row: Any, group_by: GroupBy | None) -> Group:
    if group_by is None:
        return ()
    return tuple(getattr(row, f"g{i}") for i in range(len(GROUP_COLUMNS[group_by])))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sums() -> list[Any]:
    return [sa.func.sum(usage_rollups.c[name]).label(name) for name in TOTALS]


async def bucket_sums(
    session: AsyncSession, window: Window, bucket: Bucket, group_by: GroupBy | None
) -> dict[GroupKey, dict[str, int]]:
    if group_by not in ROLLED_UP:
        return await event_sums(session, window, bucket, group_by)
    dialect = _dialect(session)
    group = _group_columns(usage_rollups, group_by)
    query = (
        sa.select(usage_rollups.c.bucket_start, *group, *_sums())
        .where(
            usage_rollups.c.bucket == bucket,
            usage_rollups.c.org_id == window.org_id,
            usage_rollups.c.bucket_start >= db_time(window.start, dialect),
            usage_rollups.c.bucket_start < db_time(window.end, dialect),
        )
        .group_by(usage_rollups.c.bucket_start, *group)
    )
    rows = await session.execute(query)
    return {
        (_utc(r.bucket_start), _group(r, group_by)): {n: int(getattr(r, n)) for n in TOTALS}
        for r in rows
    }


async def event_sums(
    session: AsyncSession, window: Window, bucket: Bucket, group_by: GroupBy | None
) -> dict[GroupKey, dict[str, int]]:
    """The rollups' sums, from the raw events: the same rules (ingest/rollup.py)."""
    if _dialect(session) == "postgresql":
        return await _event_sums_in_sql(session, window, bucket, group_by)
    return await _event_sums_in_python(session, window, bucket, group_by)


def _event_totals() -> list[Any]:
    e = usage_events.c
    failed = sa.case((sa.or_(e.status >= 400, e.error_type.is_not(None)), 1), else_=0)
    sums = [sa.func.sum(e[name]).label(name) for name in TOTALS[2:]]
    return [sa.func.count().label("requests"), sa.func.sum(failed).label("errors"), *sums]


async def _event_sums_in_sql(
    session: AsyncSession, window: Window, bucket: Bucket, group_by: GroupBy | None
) -> dict[GroupKey, dict[str, int]]:
    start = sa.func.date_trunc(bucket, sa.func.timezone("UTC", usage_events.c.occurred_at))
    group = _group_columns(usage_events, group_by)
    query = (
        sa.select(start.label("bucket_start"), *group, *_event_totals())
        .where(*_in_window(window, "postgresql", group_by))
        .group_by(start, *group)
    )
    rows = await session.execute(query)
    return {
        (_utc(r.bucket_start), _group(r, group_by)): {n: int(getattr(r, n)) for n in TOTALS}
        for r in rows
    }


async def _event_sums_in_python(
    session: AsyncSession, window: Window, bucket: Bucket, group_by: GroupBy | None
) -> dict[GroupKey, dict[str, int]]:
    e = usage_events.c
    columns = [e.occurred_at, e.status, e.error_type, *(e[n] for n in TOTALS[2:])]
    query = sa.select(*columns, *_group_columns(usage_events, group_by))
    sums: dict[GroupKey, dict[str, int]] = {}
    for row in await session.execute(query.where(*_in_window(window, "sqlite", group_by))):
        key = (bucket_start(_utc(row.occurred_at), bucket), _group(row, group_by))
        totals = sums.setdefault(key, dict.fromkeys(TOTALS, 0))
        totals["requests"] += 1
        totals["errors"] += int(row.status >= 400 or row.error_type is not None)
        for name in TOTALS[2:]:
            totals[name] += int(getattr(row, name))
    return sums


async def bucket_percentiles(
    session: AsyncSession, window: Window, bucket: Bucket, group_by: GroupBy | None
) -> dict[GroupKey, tuple[Quantiles, Quantiles]]:
    if _dialect(session) == "postgresql":
        return await _percentiles_in_sql(session, window, bucket, group_by)
    return await _percentiles_in_python(session, window, bucket, group_by)


def _in_window(window: Window, dialect: str, group_by: GroupBy | None) -> list[Any]:
    where = [
        usage_events.c.org_id == window.org_id,
        usage_events.c.occurred_at >= db_time(window.start, dialect),
        usage_events.c.occurred_at < db_time(window.end, dialect),
    ]
    if group_by == "arm":  # arms only: requests outside every experiment are no arm's
        where.append(usage_events.c.experiment.is_not(None))
    return where


async def _percentiles_in_sql(
    session: AsyncSession, window: Window, bucket: Bucket, group_by: GroupBy | None
) -> dict[GroupKey, tuple[Quantiles, Quantiles]]:
    fractions = sa.literal(list(QUANTILES), sa.ARRAY(sa.Float))
    start = sa.func.date_trunc(bucket, sa.func.timezone("UTC", usage_events.c.occurred_at))
    group = _group_columns(usage_events, group_by)
    query = (
        sa.select(
            sa.func.percentile_cont(fractions).within_group(usage_events.c.latency_ms),
            sa.func.percentile_cont(fractions).within_group(usage_events.c.ttft_ms),
            start.label("bucket_start"),
            *group,
        )
        .where(*_in_window(window, "postgresql", group_by))
        .group_by(start, *group)
    )
    rows = await session.execute(query)
    return {(_utc(r.bucket_start), _group(r, group_by)): (_tuple(r[0]), _tuple(r[1])) for r in rows}


def _tuple(values: list[float | None] | None) -> Quantiles:
    if not values or values[0] is None:
        return None
    return tuple(float(v) for v in values if v is not None)


async def _percentiles_in_python(
    session: AsyncSession, window: Window, bucket: Bucket, group_by: GroupBy | None
) -> dict[GroupKey, tuple[Quantiles, Quantiles]]:
    group = _group_columns(usage_events, group_by)
    query = sa.select(
        usage_events.c.occurred_at, usage_events.c.latency_ms, usage_events.c.ttft_ms, *group
    ).where(*_in_window(window, "sqlite", group_by))
    latencies: dict[GroupKey, list[float]] = defaultdict(list)
    ttfts: dict[GroupKey, list[float]] = defaultdict(list)
    for row in await session.execute(query):
        occurred_at, latency, ttft = row[0], row[1], row[2]
        key = (bucket_start(_utc(occurred_at), bucket), _group(row, group_by))
        latencies[key].append(latency)
        if ttft is not None:
            ttfts[key].append(ttft)
    return {
        key: (quantiles(values), quantiles(ttfts.get(key, []))) for key, values in latencies.items()
    }


async def period_totals(
    session: AsyncSession, org_id: str, since: datetime | None, group: str | None, top: int
) -> list[tuple[str | None, dict[str, int]]]:
    """Day rollups since `since` (None: all time), per model/key or overall, by cost."""
    columns = [usage_rollups.c[group].label("grp")] if group else []
    query = sa.select(*columns, *_sums()).where(
        usage_rollups.c.bucket == "day", usage_rollups.c.org_id == org_id
    )
    if since is not None:
        dialect = _dialect(session)
        query = query.where(usage_rollups.c.bucket_start >= db_time(since, dialect))
    if columns:
        query = query.group_by(*columns).order_by(sa.desc("cost_micro_usd"), *columns).limit(top)
    rows = await session.execute(query)
    return [(getattr(r, "grp", None), {n: int(getattr(r, n) or 0) for n in TOTALS}) for r in rows]
