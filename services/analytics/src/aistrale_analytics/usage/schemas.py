"""Wire models of the usage API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from aistrale_common.budget_periods import Period

Bucket = Literal["minute", "hour", "day"]
GroupBy = Literal["model", "key", "arm", "deployment", "provider"]


class Percentiles(BaseModel):
    p50: float
    p95: float
    p99: float


class UsageTotals(BaseModel):
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_micro_usd: int = 0


class UsageRow(UsageTotals):
    bucket_start: datetime
    model: str | None = None
    key_id: str | None = None
    experiment: str | None = None  # group_by=arm: the experiment and its arm
    arm: str | None = None
    deployment: str | None = None  # group_by=deployment (null: refused before routing)
    provider: str | None = None
    latency_ms: Percentiles | None = None
    ttft_ms: Percentiles | None = None


class UsageReport(BaseModel):
    object: Literal["list"] = "list"
    org_id: str
    bucket: Bucket
    group_by: GroupBy | None
    start: datetime
    end: datetime
    data: list[UsageRow]


class TopItem(UsageTotals):
    id: str


class UsageSummary(BaseModel):
    org_id: str
    period: Period
    period_start: datetime | None
    totals: UsageTotals
    top_models: list[TopItem]
    top_keys: list[TopItem]
