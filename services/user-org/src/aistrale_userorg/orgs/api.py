"""HTTP: /admin/v1/orgs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from aistrale_userorg.deps import ContextDep, PageLimit, PageOffset, PrincipalDep
from aistrale_userorg.orgs import service
from aistrale_userorg.orgs.schemas import OrgCreate, OrgPublic, OrgUpdate
from aistrale_userorg.schemas import Page, PathId, errors

router = APIRouter(prefix="/admin/v1/orgs", tags=["orgs"], responses=errors(401, 403, 422))


@router.post("", status_code=201, summary="Create an org (platform admins)", responses=errors(409))
async def create_org(ctx: ContextDep, actor: PrincipalDep, body: OrgCreate) -> OrgPublic:
    return await service.create(ctx, actor, body)


@router.get("", summary="List the orgs you belong to (all of them for platform admins)")
async def list_orgs(
    ctx: ContextDep, actor: PrincipalDep, limit: PageLimit = 50, offset: PageOffset = 0
) -> Page[OrgPublic]:
    return await service.list_orgs(ctx, actor, limit, offset)


@router.get("/{org_id}", summary="Get an org", responses=errors(404))
async def get_org(ctx: ContextDep, actor: PrincipalDep, org_id: PathId) -> OrgPublic:
    return await service.get(ctx, actor, org_id)


@router.patch(
    "/{org_id}", summary="Rename an org or change its RPM/TPM limits", responses=errors(404, 409)
)
async def update_org(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: OrgUpdate
) -> OrgPublic:
    return await service.update(ctx, actor, org_id, body)


@router.delete(
    "/{org_id}",
    status_code=204,
    summary="Delete an org with its keys and budgets",
    responses=errors(404),
)
async def delete_org(ctx: ContextDep, actor: PrincipalDep, org_id: PathId) -> Response:
    await service.delete(ctx, actor, org_id)
    return Response(status_code=204)
