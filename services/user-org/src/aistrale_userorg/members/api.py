"""HTTP: /admin/v1/orgs/{org_id}/members."""

from __future__ import annotations

from fastapi import APIRouter, Response

from aistrale_userorg.deps import ContextDep, PageLimit, PageOffset, PrincipalDep
from aistrale_userorg.invitations import service as invitations
from aistrale_userorg.invitations.schemas import Invitation, InvitationCreate
from aistrale_userorg.members import service
from aistrale_userorg.members.schemas import MemberPublic, MemberUpdate
from aistrale_userorg.schemas import Page, PathId, errors

router = APIRouter(
    prefix="/admin/v1/orgs/{org_id}/members",
    tags=["members"],
    responses=errors(401, 403, 404, 422),
)


@router.get("", summary="List the org's members and roles")
async def list_members(
    ctx: ContextDep,
    actor: PrincipalDep,
    org_id: PathId,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Page[MemberPublic]:
    return await service.list_members(ctx, actor, org_id, limit, offset)


@router.post(
    "",
    status_code=202,
    summary="Invite a member with a role (they accept at /admin/v1/invitations/accept)",
    description=(
        "Answers the same whether or not an account has this email; nobody joins until "
        "the invitee accepts the invitation's token."
    ),
)
async def add_member(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: InvitationCreate
) -> Invitation:
    return await invitations.invite(ctx, actor, org_id, body)


@router.patch("/{user_id}", summary="Change a member's role", responses=errors(409))
async def change_role(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, user_id: PathId, body: MemberUpdate
) -> MemberPublic:
    return await service.change_role(ctx, actor, org_id, user_id, body)


@router.delete("/{user_id}", status_code=204, summary="Remove a member", responses=errors(409))
async def remove_member(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, user_id: PathId
) -> Response:
    await service.remove(ctx, actor, org_id, user_id)
    return Response(status_code=204)
