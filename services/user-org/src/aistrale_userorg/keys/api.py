"""HTTP: /admin/v1/orgs/{org_id}/keys."""

from __future__ import annotations

from fastapi import APIRouter, Response

from aistrale_userorg.deps import ContextDep, PageLimit, PageOffset, PrincipalDep
from aistrale_userorg.keys import service
from aistrale_userorg.keys.schemas import KeyCreate, KeyCreated, KeyPublic, KeyUpdate
from aistrale_userorg.schemas import Page, PathId, errors

router = APIRouter(
    prefix="/admin/v1/orgs/{org_id}/keys", tags=["keys"], responses=errors(401, 403, 404, 422)
)


@router.post("", status_code=201, summary="Create an API key (the plaintext is shown once)")
async def create_key(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: KeyCreate
) -> KeyCreated:
    return await service.create(ctx, actor, org_id, body)


@router.get("", summary="List the org's API keys")
async def list_keys(
    ctx: ContextDep,
    actor: PrincipalDep,
    org_id: PathId,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Page[KeyPublic]:
    return await service.list_keys(ctx, actor, org_id, limit, offset)


@router.get("/{key_id}", summary="Get an API key (never its secret)")
async def get_key(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, key_id: PathId
) -> KeyPublic:
    return await service.get(ctx, actor, org_id, key_id)


@router.patch("/{key_id}", summary="Change a key's name, limits, models or expiry")
async def update_key(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, key_id: PathId, body: KeyUpdate
) -> KeyPublic:
    return await service.update(ctx, actor, org_id, key_id, body)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, key_id: PathId
) -> Response:
    await service.revoke(ctx, actor, org_id, key_id)
    return Response(status_code=204)
