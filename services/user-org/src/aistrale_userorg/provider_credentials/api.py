"""HTTP: /admin/v1/orgs/{org_id}/provider-credentials and the KEK rotation."""

from __future__ import annotations

from fastapi import APIRouter, Response

from aistrale_userorg.deps import ContextDep, PrincipalDep
from aistrale_userorg.provider_credentials import service
from aistrale_userorg.provider_credentials.schemas import (
    CredentialPublic,
    CredentialSet,
    KekRotation,
    ProviderPath,
)
from aistrale_userorg.schemas import Page, PathId, errors

router = APIRouter(
    prefix="/admin/v1/orgs/{org_id}/provider-credentials",
    tags=["provider credentials"],
    responses=errors(401, 403, 404, 422),
)


@router.put(
    "/{provider}",
    summary="Store or replace the org's key for a provider (never returned)",
    responses={**errors(400, 409), 201: {"model": CredentialPublic, "description": "Stored"}},
)
async def put_credential(
    ctx: ContextDep,
    actor: PrincipalDep,
    org_id: PathId,
    provider: ProviderPath,
    body: CredentialSet,
    response: Response,
) -> CredentialPublic:
    stored, created = await service.put(ctx, actor, org_id, provider, body)
    response.status_code = 201 if created else 200
    return stored


@router.get("", summary="List the org's provider credentials (never the keys)")
async def list_credentials(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId
) -> Page[CredentialPublic]:
    return await service.list_for_org(ctx, actor, org_id)


@router.delete(
    "/{provider}",
    status_code=204,
    summary="Remove the org's key for a provider",
    responses=errors(400),
)
async def delete_credential(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, provider: ProviderPath
) -> Response:
    await service.delete(ctx, actor, org_id, provider)
    return Response(status_code=204)


rotation_router = APIRouter(
    prefix="/admin/v1/provider-credentials",
    tags=["provider credentials"],
    responses=errors(401, 403),
)


@rotation_router.post(
    "/rotate-kek",
    summary="Re-wrap every stored credential under the current KEK (platform admins)",
)
async def rotate_kek(ctx: ContextDep, actor: PrincipalDep) -> KekRotation:
    return await service.rotate_kek(ctx, actor)
