"""Exact per-minute, per-hour and per-day sums, computed from the events a commit inserts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from aistrale_common.events.schemas import UsageEventV1

Bucket = Literal["minute", "hour", "day"]
BUCKETS: tuple[Bucket, ...] = ("minute", "hour", "day")
RollupKey = tuple[Bucket, str, datetime, str, str]  # bucket, org, start, key, model


def bucket_start(moment: datetime, bucket: Bucket) -> datetime:
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if bucket == "minute":
        return utc.replace(second=0, microsecond=0)
    if bucket == "hour":
        return utc.replace(minute=0, second=0, microsecond=0)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def is_error(event: UsageEventV1) -> bool:
    return event.status >= 400 or event.error_type is not None


@dataclass(slots=True)
class RollupDelta:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_micro_usd: int = 0
    latency_ms_sum: float = 0.0
    ttft_ms_sum: float = 0.0
    ttft_count: int = 0
    cache_hits: int = 0
    saved_micro_usd: int = 0

    def add(self, event: UsageEventV1) -> None:
        self.requests += 1
        self.errors += int(is_error(event))
        self.prompt_tokens += event.prompt_tokens
        self.completion_tokens += event.completion_tokens
        self.cached_tokens += event.cached_tokens
        self.cost_micro_usd += event.cost_micro_usd
        self.latency_ms_sum += event.latency_ms
        if event.ttft_ms is not None:
            self.ttft_ms_sum += event.ttft_ms
            self.ttft_count += 1
        self.cache_hits += int(event.cached)
        self.saved_micro_usd += event.saved_micro_usd


def aggregate(events: Iterable[UsageEventV1]) -> list[tuple[RollupKey, RollupDelta]]:
    """Sorted by key, so that concurrent writers lock rollup rows in the same order."""
    deltas: dict[RollupKey, RollupDelta] = {}
    for event in events:
        for bucket in BUCKETS:
            key = (
                bucket,
                event.org_id,
                bucket_start(event.occurred_at, bucket),
                event.key_id,
                event.model,
            )
            deltas.setdefault(key, RollupDelta()).add(event)
    return sorted(deltas.items(), key=lambda item: item[0])
