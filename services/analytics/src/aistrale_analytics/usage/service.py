"""Usage reports: validate the window, merge rollup sums with latency percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aistrale_analytics.ingest.rollup import bucket_start
from aistrale_analytics.usage import repository
from aistrale_analytics.usage.repository import GROUP_COLUMNS, Group, Quantiles, Window
from aistrale_analytics.usage.schemas import (
    Bucket,
    GroupBy,
    Percentiles,
    TopItem,
    UsageReport,
    UsageRow,
    UsageSummary,
    UsageTotals,
)
from aistrale_common.budget_periods import Period, period_start
from aistrale_common.db import Database
from aistrale_common.errors import InvalidRequest

BUCKET_SIZE = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 10_000
DEFAULT_WINDOW = timedelta(days=1)


def _percentiles(values: Quantiles) -> Percentiles | None:
    return Percentiles(p50=values[0], p95=values[1], p99=values[2]) if values else None


class UsageService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def window(
        self, org_id: str, start: datetime | None, end: datetime | None, bucket: Bucket
    ) -> Window:
        end = _aware(end) if end else datetime.now(UTC)
        start = _aware(start) if start else end - DEFAULT_WINDOW
        if start >= end:
            raise InvalidRequest("start must be before end", param="start")
        if (end - start) / BUCKET_SIZE[bucket] > MAX_BUCKETS:
            raise InvalidRequest(
                f"at most {MAX_BUCKETS} {bucket} buckets per query: use a larger bucket",
                param="bucket",
            )
        # Whole buckets only: the first one starts at or before `start`.
        return Window(org_id, bucket_start(start, bucket), end)

    async def report(self, window: Window, bucket: Bucket, group_by: GroupBy | None) -> UsageReport:
        async with self._db.session() as session:
            sums = await repository.bucket_sums(session, window, bucket, group_by)
            percentiles = await repository.bucket_percentiles(session, window, bucket, group_by)
        rows = []
        for (start, group), totals in sorted(sums.items(), key=_order):
            latency, ttft = percentiles.get((start, group), (None, None))
            rows.append(
                UsageRow(
                    bucket_start=start,
                    **_group_fields(group_by, group),
                    latency_ms=_percentiles(latency),
                    ttft_ms=_percentiles(ttft),
                    **totals,
                )
            )
        return UsageReport(
            org_id=window.org_id,
            bucket=bucket,
            group_by=group_by,
            start=window.start,
            end=window.end,
            data=rows,
        )

    async def summary(self, org_id: str, period: Period, top: int, now: datetime) -> UsageSummary:
        since = period_start(period, now)
        async with self._db.session() as session:
            totals = await repository.period_totals(session, org_id, since, None, 1)
            models = await repository.period_totals(session, org_id, since, "model", top)
            keys = await repository.period_totals(session, org_id, since, "key_id", top)
        return UsageSummary(
            org_id=org_id,
            period=period,
            period_start=since,
            totals=UsageTotals(**totals[0][1]) if totals else UsageTotals(),
            top_models=[TopItem(id=str(grp), **sums) for grp, sums in models],
            top_keys=[TopItem(id=str(grp), **sums) for grp, sums in keys],
        )


def _order(item: tuple[tuple[datetime, Group], object]) -> tuple[datetime, tuple[str, ...]]:
    (start, group), _ = item
    return start, tuple(value or "" for value in group)


def _group_fields(group_by: GroupBy | None, group: Group) -> dict[str, str | None]:
    """The row's fields that name its group: `key_id` for key, the column names else."""
    if group_by is None:
        return {}
    names = GROUP_COLUMNS[group_by]
    return dict(zip(names, group, strict=True))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
