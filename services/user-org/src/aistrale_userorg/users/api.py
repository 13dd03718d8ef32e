"""HTTP: /admin/v1/users (platform admins) and /admin/v1/users/me (anyone signed in)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from aistrale_userorg.deps import ContextDep, PageLimit, PageOffset, PrincipalDep
from aistrale_userorg.schemas import Page, PathId, errors
from aistrale_userorg.users import service
from aistrale_userorg.users.schemas import (
    AdminKeyCreate,
    AdminKeyCreated,
    AdminKeyPublic,
    Me,
    PasswordChange,
    UserCreate,
    UserPublic,
)

router = APIRouter(prefix="/admin/v1/users", tags=["users"], responses=errors(401, 403, 422))


@router.get("/me", summary="The signed-in user and their org roles")
async def get_me(ctx: ContextDep, actor: PrincipalDep) -> Me:
    return await service.me(ctx, actor)


@router.put("/me/password", status_code=204, summary="Change your password")
async def change_password(ctx: ContextDep, actor: PrincipalDep, body: PasswordChange) -> Response:
    await service.change_password(ctx, actor, body)
    return Response(status_code=204)


@router.post(
    "/me/sign-out",
    status_code=204,
    summary="Sign out everywhere: end every session of yours, this one included",
)
async def sign_out_me(ctx: ContextDep, actor: PrincipalDep) -> Response:
    assert actor.id is not None
    await service.sign_out_everywhere(ctx, actor, actor.id)
    return Response(status_code=204)


@router.post(
    "/{user_id}/sign-out",
    status_code=204,
    summary="End every session of a user (platform admins)",
    responses=errors(404),
)
async def sign_out_user(ctx: ContextDep, actor: PrincipalDep, user_id: PathId) -> Response:
    await service.sign_out_everywhere(ctx, actor, user_id)
    return Response(status_code=204)


@router.post("", status_code=201, summary="Create a user (platform admins)", responses=errors(409))
async def create_user(ctx: ContextDep, actor: PrincipalDep, body: UserCreate) -> UserPublic:
    return await service.create_user(ctx, actor, body)


@router.get("", summary="List users (platform admins)")
async def list_users(
    ctx: ContextDep, actor: PrincipalDep, limit: PageLimit = 50, offset: PageOffset = 0
) -> Page[UserPublic]:
    return await service.list_users(ctx, actor, limit, offset)


@router.post("/me/admin-keys", status_code=201, summary="Create an admin API key for automation")
async def create_admin_key(
    ctx: ContextDep, actor: PrincipalDep, body: AdminKeyCreate
) -> AdminKeyCreated:
    return await service.create_admin_key(ctx, actor, body)


@router.get("/me/admin-keys", summary="List your admin API keys")
async def list_admin_keys(
    ctx: ContextDep, actor: PrincipalDep, limit: PageLimit = 50, offset: PageOffset = 0
) -> Page[AdminKeyPublic]:
    return await service.list_admin_keys(ctx, actor, limit, offset)


@router.delete(
    "/me/admin-keys/{key_id}",
    status_code=204,
    summary="Revoke an admin API key",
    responses=errors(404),
)
async def revoke_admin_key(ctx: ContextDep, actor: PrincipalDep, key_id: PathId) -> Response:
    await service.revoke_admin_key(ctx, actor, key_id)
    return Response(status_code=204)
