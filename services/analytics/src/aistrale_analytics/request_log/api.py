"""`/analytics/v1/orgs/{org_id}/requests`: the request log, thin HTTP over RequestLogService.

Reading the log is `usage.read` (as the usage API); reading bodies is `usage.read_bodies`
(owners and admins, user-org's policy), and each such read is recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from aistrale_analytics.access import authorize
from aistrale_analytics.deps import AuthorizerDep, Caller, RequestLogDep
from aistrale_analytics.request_log.schemas import BodyRead, RequestDetail, RequestPage
from aistrale_analytics.request_log.service import MAX_LIMIT
from aistrale_common.ids import PathId

router = APIRouter(prefix="/analytics/v1/orgs/{org_id}", tags=["request log"])
_TEXT = r"^[^\x00]*$"  # Postgres text cannot hold U+0000: refused as a 400, not a 500


@router.get("/requests", response_model=RequestPage)
async def list_requests(
    org_id: PathId,
    claims: Caller,
    authorizer: AuthorizerDep,
    service: RequestLogDep,
    start: Annotated[datetime | None, Query(description="default: end - 24h")] = None,
    end: Annotated[datetime | None, Query(description="default: now")] = None,
    key_id: Annotated[str | None, Query(max_length=64, pattern=_TEXT)] = None,
    model: Annotated[str | None, Query(max_length=200, pattern=_TEXT)] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> RequestPage:
    """One row per request, newest first; `next_cursor` pages on (stable under new rows)."""
    await authorize(authorizer, claims, org_id, "usage.read")
    filters = service.filters(org_id, start, end, key_id, model, status)
    return await service.page(filters, cursor, limit)


@router.get("/request-body-reads", response_model=list[BodyRead])
async def list_body_reads(
    org_id: PathId,
    claims: Caller,
    authorizer: AuthorizerDep,
    service: RequestLogDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> list[BodyRead]:
    """Who read which request's bodies, newest first (owners and admins)."""
    await authorize(authorizer, claims, org_id, "usage.read_bodies")
    return await service.body_reads(org_id, limit)


@router.get("/requests/{request_id}", response_model=RequestDetail)
async def get_request(
    org_id: PathId,
    request_id: Annotated[str, Path(max_length=128, pattern=_TEXT, description="the x-request-id")],
    claims: Caller,
    authorizer: AuthorizerDep,
    service: RequestLogDep,
    include: Literal["bodies"] | None = None,
) -> RequestDetail:
    """One request; with `include=bodies` its prompt and answer (owners and admins; audited)."""
    if include != "bodies":
        await authorize(authorizer, claims, org_id, "usage.read")
        return await service.detail(org_id, request_id)
    await authorize(authorizer, claims, org_id, "usage.read_bodies")
    return await service.detail_with_bodies(org_id, request_id, claims.sub)
