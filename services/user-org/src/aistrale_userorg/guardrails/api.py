"""HTTP: /admin/v1/orgs/{org_id}/guardrails."""

from __future__ import annotations

from fastapi import APIRouter

from aistrale_common.governance.guardrails import Guardrails
from aistrale_userorg.deps import ContextDep, PrincipalDep
from aistrale_userorg.guardrails import service
from aistrale_userorg.schemas import PathId, errors

router = APIRouter(
    prefix="/admin/v1/orgs/{org_id}", tags=["guardrails"], responses=errors(401, 403, 404, 422)
)


@router.put("/guardrails", summary="Set the org's guardrails (PII detection)")
async def put_guardrails(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: Guardrails
) -> Guardrails:
    return await service.put(ctx, actor, org_id, body)


@router.get("/guardrails", summary="The org's guardrails (all off unless set)")
async def get_guardrails(ctx: ContextDep, actor: PrincipalDep, org_id: PathId) -> Guardrails:
    return await service.get(ctx, actor, org_id)
