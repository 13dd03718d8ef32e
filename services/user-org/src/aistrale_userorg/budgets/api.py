"""HTTP: /admin/v1/orgs/{org_id}/budget and /admin/v1/orgs/{org_id}/keys/{key_id}/budget."""

from __future__ import annotations

from fastapi import APIRouter, Response

from aistrale_userorg.budgets import service
from aistrale_userorg.budgets.schemas import BudgetPublic, BudgetSet
from aistrale_userorg.deps import ContextDep, PrincipalDep
from aistrale_userorg.schemas import PathId, errors

router = APIRouter(
    prefix="/admin/v1/orgs/{org_id}", tags=["budgets"], responses=errors(401, 403, 404, 422)
)


@router.put("/budget", summary="Set the org's budget")
async def put_org_budget(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: BudgetSet
) -> BudgetPublic:
    return await service.put(ctx, actor, org_id, None, body)


@router.get("/budget", summary="Get the org's budget")
async def get_org_budget(ctx: ContextDep, actor: PrincipalDep, org_id: PathId) -> BudgetPublic:
    return await service.get(ctx, actor, org_id, None)


@router.delete("/budget", status_code=204, summary="Remove the org's budget")
async def delete_org_budget(ctx: ContextDep, actor: PrincipalDep, org_id: PathId) -> Response:
    await service.delete(ctx, actor, org_id, None)
    return Response(status_code=204)


@router.put("/keys/{key_id}/budget", summary="Set a key's own budget")
async def put_key_budget(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, key_id: PathId, body: BudgetSet
) -> BudgetPublic:
    return await service.put(ctx, actor, org_id, key_id, body)


@router.get("/keys/{key_id}/budget", summary="Get a key's own budget")
async def get_key_budget(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, key_id: PathId
) -> BudgetPublic:
    return await service.get(ctx, actor, org_id, key_id)


@router.delete("/keys/{key_id}/budget", status_code=204, summary="Remove a key's own budget")
async def delete_key_budget(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, key_id: PathId
) -> Response:
    await service.delete(ctx, actor, org_id, key_id)
    return Response(status_code=204)
