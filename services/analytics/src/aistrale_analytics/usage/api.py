"""`/analytics/v1/orgs/{org_id}/usage` and its summary: thin HTTP over UsageService."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from aistrale_analytics.access import Caller, authorize
from aistrale_analytics.usage.schemas import Bucket, GroupBy, Period, UsageReport, UsageSummary
from aistrale_analytics.usage.service import UsageService
from aistrale_common.ids import PathId

router = APIRouter(prefix="/analytics/v1/orgs/{org_id}", tags=["usage"])


def _service(request: Request) -> UsageService:
    return UsageService(request.app.state.core.db)


@router.get("/usage", response_model=UsageReport)
async def usage(
    org_id: PathId,
    claims: Caller,
    request: Request,
    start: Annotated[datetime | None, Query(description="default: end - 24h")] = None,
    end: Annotated[datetime | None, Query(description="default: now")] = None,
    bucket: Bucket = "hour",
    group_by: GroupBy | None = None,
) -> UsageReport:
    """Requests, errors, tokens, cost and latency/TTFT percentiles per bucket (UTC)."""
    await authorize(request, claims, org_id, "usage.read")
    service = _service(request)
    return await service.report(service.window(org_id, start, end, bucket), bucket, group_by)


@router.get("/usage/summary", response_model=UsageSummary)
async def usage_summary(
    org_id: PathId,
    claims: Caller,
    request: Request,
    period: Period = "month",
    top: Annotated[int, Query(ge=1, le=100)] = 5,
) -> UsageSummary:
    """Totals for the current budget period (UTC day or month, or all time); top models and
    keys by cost."""
    await authorize(request, claims, org_id, "usage.read")
    return await _service(request).summary(org_id, period, top, datetime.now(UTC))
