"""HTTP: /admin/v1/orgs/{org_id}/logging and /residency."""

from __future__ import annotations

from fastapi import APIRouter

from aistrale_userorg.deps import ContextDep, PrincipalDep
from aistrale_userorg.org_policy import service
from aistrale_userorg.org_policy.schemas import LoggingSettings, ResidencySettings
from aistrale_userorg.schemas import PathId, errors

router = APIRouter(
    prefix="/admin/v1/orgs/{org_id}", tags=["orgs"], responses=errors(401, 403, 404, 422)
)


@router.get("/logging", summary="Whether request bodies are stored, and for how long")
async def get_logging(ctx: ContextDep, actor: PrincipalDep, org_id: PathId) -> LoggingSettings:
    return await service.get_logging(ctx, actor, org_id)


@router.put("/logging", summary="Opt in or out of storing request bodies (owners and admins)")
async def put_logging(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: LoggingSettings
) -> LoggingSettings:
    return await service.put_logging(ctx, actor, org_id, body)


@router.get("/residency", summary="The regions the org's requests may be served in")
async def get_residency(ctx: ContextDep, actor: PrincipalDep, org_id: PathId) -> ResidencySettings:
    return await service.get_residency(ctx, actor, org_id)


@router.put("/residency", summary="Restrict the org to regions (platform admins)")
async def put_residency(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: ResidencySettings
) -> ResidencySettings:
    return await service.put_residency(ctx, actor, org_id, body)
