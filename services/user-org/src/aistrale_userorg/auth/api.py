"""HTTP: POST /admin/v1/auth/token (OAuth2 token endpoint) and /auth/logout."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aistrale_userorg.auth import service
from aistrale_userorg.auth.schemas import (
    GRANTS,
    AdminKeyGrant,
    Grant,
    PasswordGrant,
    TokenResponse,
    token_request_body,
)
from aistrale_userorg.deps import ClientIp, ContextDep
from aistrale_userorg.schemas import errors

router = APIRouter(prefix="/admin/v1/auth", tags=["auth"])


async def read_grant(request: Request) -> Grant:
    # The form is parsed by hand because which fields are required depends on grant_type.
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    model = GRANTS.get(form.get("grant_type", "password"))
    if model is None:
        raise RequestValidationError(
            [{"loc": ("body", "grant_type"), "msg": "unsupported grant_type"}]
        )
    try:
        return model.model_validate(form)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


@router.post(
    "/token",
    summary="Sign in (OAuth2 password grant), refresh, or exchange an admin API key",
    description=(
        "`grant_type=password` (the default) with `username` (email) and `password`; "
        "`grant_type=refresh_token` with `refresh_token` (single use, rotated); "
        "`grant_type=client_credentials` with `client_secret` (an admin API key, ak-...)."
    ),
    responses=errors(401, 422, 429),
    openapi_extra={"requestBody": token_request_body()},
)
async def token(request: Request, ctx: ContextDep, ip: ClientIp) -> TokenResponse:
    grant = await read_grant(request)
    if isinstance(grant, PasswordGrant):
        return await service.password_grant(ctx, grant.username, grant.password, ip, grant.totp)
    if isinstance(grant, AdminKeyGrant):
        return await service.admin_key_grant(ctx, grant.client_secret, ip)
    return await service.refresh_grant(ctx, grant.refresh_token, ip)


class LogoutRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "rt-3q2..."}]})
    refresh_token: str = Field(min_length=1, max_length=4096)


@router.post(
    "/logout",
    status_code=204,
    summary="End a session (revokes its refresh tokens)",
    responses=errors(422),
)
async def logout(ctx: ContextDep, ip: ClientIp, body: LogoutRequest) -> Response:
    await service.logout(ctx, body.refresh_token, ip)
    return Response(status_code=204)
