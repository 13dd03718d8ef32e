"""HTTP: /internal/v1/* for the router, behind the service token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from aistrale_common.auth.authorize import PATH as AUTHORIZE_PATH
from aistrale_common.auth.authorize import AuthorizeDecision, AuthorizeRequest
from aistrale_common.errors import AuthenticationFailed
from aistrale_common.governance.guardrails import Guardrails
from aistrale_common.governance.templates import PromptVersion
from aistrale_common.key_lookup import KeyLookup
from aistrale_userorg.deps import ContextDep, Credentials
from aistrale_userorg.guardrails import service as guardrails
from aistrale_userorg.internal import service
from aistrale_userorg.internal.authorize import decide
from aistrale_userorg.principal import SERVICE, Principal
from aistrale_userorg.prompts import service as prompts
from aistrale_userorg.provider_credentials import service as credentials
from aistrale_userorg.provider_credentials.schemas import CredentialSecret, ProviderPath
from aistrale_userorg.schemas import PathId, errors
from aistrale_userorg.security import same_secret

router = APIRouter(prefix="/internal/v1", tags=["internal"])


def service_principal(ctx: ContextDep, creds: Credentials) -> Principal:
    if creds is None or not same_secret(creds.credentials, ctx.service_token):
        raise AuthenticationFailed("Invalid service token", code="invalid_service_token")
    return SERVICE


ServiceDep = Annotated[Principal, Depends(service_principal)]
# Lenient on purpose: anything hash-shaped that is not a key is a 404 the router can cache.
KeyHash = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,128}$")]


@router.get(
    "/keys/{key_hash}",
    summary="Look an API key up by its SHA-256 (router only)",
    response_model=KeyLookup,
    responses=errors(401, 404, 422),
)
async def lookup_key(ctx: ContextDep, actor: ServiceDep, key_hash: KeyHash) -> Response:
    record = await service.lookup(ctx, actor, key_hash)
    # Serialised once by pydantic-core, skipping FastAPI's second validation pass.
    # A signing secret in the answer: nothing between the router and us may keep a copy.
    headers = {"cache-control": "no-store"} if record.signing_secret else None
    return Response(record.model_dump_json(), media_type="application/json", headers=headers)


@router.get(
    "/orgs/{org_id}/provider-credentials/{provider}",
    summary="An org's provider key, in plaintext (router only)",
    response_model=CredentialSecret,
    responses=errors(401, 404, 422),
)
async def reveal_credential(
    ctx: ContextDep, actor: ServiceDep, org_id: PathId, provider: ProviderPath
) -> Response:
    secret = await credentials.reveal(ctx, actor, org_id, provider)
    # no-store: nothing between the router and us may keep a copy of the key.
    return Response(
        secret.model_dump_json(),
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


@router.post(
    AUTHORIZE_PATH.removeprefix("/internal/v1"),
    summary="May this user do this action on this org? (analytics only)",
    responses=errors(401, 422),
)
async def authorize(
    ctx: ContextDep, actor: ServiceDep, body: AuthorizeRequest
) -> AuthorizeDecision:
    return await decide(ctx, actor, body)


@router.get(
    "/orgs/{org_id}/prompts/{prompt_id}",
    summary="A prompt template's version, latest unless asked (router only)",
    response_model=PromptVersion,
    responses=errors(401, 404, 422),
)
async def prompt_for_router(
    ctx: ContextDep,
    actor: ServiceDep,
    org_id: PathId,
    prompt_id: PathId,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    found = await prompts.for_router(ctx, actor, org_id, prompt_id, version)
    return Response(found.model_dump_json(), media_type="application/json")


@router.get(
    "/orgs/{org_id}/guardrails",
    summary="An org's guardrails (router only)",
    response_model=Guardrails,
    responses=errors(401, 422),
)
async def guardrails_for_router(ctx: ContextDep, actor: ServiceDep, org_id: PathId) -> Response:
    found = await guardrails.for_router(ctx, actor, org_id)
    return Response(found.model_dump_json(), media_type="application/json")
