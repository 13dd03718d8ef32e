"""`/analytics/v1/orgs/{org_id}/usage` and its summary: thin HTTP over UsageService."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from aistrale_analytics.access import authorize
from aistrale_analytics.deps import AuthorizerDep, Caller, UsageDep
from aistrale_analytics.usage.schemas import Bucket, GroupBy, UsageReport, UsageSummary
from aistrale_common.budget_periods import Period
from aistrale_common.ids import PathId

router = APIRouter(prefix="/analytics/v1/orgs/{org_id}", tags=["usage"])


@router.get("/usage", response_model=UsageReport)
async def usage(
    org_id: PathId,
    claims: Caller,
    authorizer: AuthorizerDep,
    service: UsageDep,
    start: Annotated[datetime | None, Query(description="default: end - 24h")] = None,
    end: Annotated[datetime | None, Query(description="default: now")] = None,
    bucket: Bucket = "hour",
    group_by: GroupBy | None = None,
) -> UsageReport:
    """Requests, errors, tokens, cost and latency/TTFT percentiles per bucket (UTC)."""
    await authorize(authorizer, claims, org_id, "usage.read")
    return await service.report(service.window(org_id, start, end, bucket), bucket, group_by)


@router.get("/usage/summary", response_model=UsageSummary)
async def usage_summary(
    org_id: PathId,
    claims: Caller,
    authorizer: AuthorizerDep,
    service: UsageDep,
    period: Period = "month",
    top: Annotated[int, Query(ge=1, le=100)] = 5,
) -> UsageSummary:
    """Totals for the current budget period (UTC day or month, or all time); top models and
    keys by cost."""
    await authorize(authorizer, claims, org_id, "usage.read")
    return await service.summary(org_id, period, top, datetime.now(UTC))
