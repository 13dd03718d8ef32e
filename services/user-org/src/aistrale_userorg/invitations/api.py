"""HTTP: POST /admin/v1/invitations/accept (the invitee; no bearer token needed)."""

from __future__ import annotations

from fastapi import APIRouter

from aistrale_userorg.deps import ClientIp, ContextDep
from aistrale_userorg.invitations import service
from aistrale_userorg.invitations.schemas import InvitationAccept
from aistrale_userorg.members.schemas import MemberPublic
from aistrale_userorg.schemas import errors

router = APIRouter(prefix="/admin/v1/invitations", tags=["members"])


@router.post(
    "/accept",
    summary="Accept an invitation: join the org (creating the account if the email has none)",
    responses=errors(401, 409, 422),
)
async def accept(ctx: ContextDep, ip: ClientIp, body: InvitationAccept) -> MemberPublic:
    return await service.accept(ctx, body, ip)
