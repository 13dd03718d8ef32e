"""HTTP: /admin/v1/users/me/mfa/totp (enrol, verify)."""

from __future__ import annotations

from fastapi import APIRouter

from aistrale_userorg.deps import ContextDep, PrincipalDep
from aistrale_userorg.mfa import service
from aistrale_userorg.mfa.schemas import RecoveryCodes, TotpEnrolment, TotpVerify
from aistrale_userorg.schemas import errors

router = APIRouter(
    prefix="/admin/v1/users/me/mfa", tags=["users"], responses=errors(401, 403, 409, 422)
)


@router.post("/totp", status_code=201, summary="Start TOTP enrolment (a new secret)")
async def enrol(ctx: ContextDep, actor: PrincipalDep) -> TotpEnrolment:
    return await service.enrol(ctx, actor)


@router.post("/totp/verify", summary="Verify a first code: enables TOTP, returns recovery codes")
async def verify(ctx: ContextDep, actor: PrincipalDep, body: TotpVerify) -> RecoveryCodes:
    return await service.verify(ctx, actor, body)
