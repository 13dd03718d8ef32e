"""HTTP: GET /admin/v1/audit and /admin/v1/audit/verify."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from aistrale_userorg.audit import service
from aistrale_userorg.audit.repository import AuditFilter
from aistrale_userorg.audit.schemas import AuditRecord, ChainVerification
from aistrale_userorg.deps import ContextDep, PageLimit, PageOffset, PrincipalDep
from aistrale_userorg.schemas import Page, QueryText, errors

router = APIRouter(prefix="/admin/v1/audit", tags=["audit"], responses=errors(401, 403, 422))


@router.get(
    "",
    summary="Search the audit log (platform admins; org owners with org_id)",
    responses=errors(404),
)
async def search_audit(
    ctx: ContextDep,
    actor: PrincipalDep,
    org_id: QueryText = None,
    actor_id: QueryText = None,
    action: QueryText = None,
    outcome: QueryText = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Page[AuditRecord]:
    f = AuditFilter(org_id, actor_id, action, outcome, since, until)
    return await service.search(ctx, actor, f, limit, offset)


@router.get("/verify", summary="Check the hash chain: edited or deleted rows show here")
async def verify_audit(ctx: ContextDep, actor: PrincipalDep) -> ChainVerification:
    return await service.verify(ctx, actor)
