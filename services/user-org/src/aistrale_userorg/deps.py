"""FastAPI dependencies: the context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aistrale_common.auth.admin_token import verify_admin_token
from aistrale_common.service_state import app_state
from aistrale_common.sessions.cookies import resolve_request
from aistrale_userorg.context import Context
from aistrale_userorg.principal import Principal
from aistrale_userorg.sessions import service as sessions
from aistrale_userorg.users import service as users

bearer = HTTPBearer(auto_error=False, description="An access token from /admin/v1/auth/token")


def get_context(request: Request) -> Context:
    return app_state(request.app, Context)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


ContextDep = Annotated[Context, Depends(get_context)]
ClientIp = Annotated[str | None, Depends(client_ip)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def current_principal(
    ctx: ContextDep, ip: ClientIp, creds: Credentials, request: Request
) -> Principal:
    if creds is None:
        # The console: a session cookie (CSRF-checked on mutating calls) for the same user.
        session_id, record = await resolve_request(ctx.sessions, request, request.method)
        return await sessions.principal_of(ctx, session_id, record, ip)
    claims = verify_admin_token(creds.credentials, ctx.jwt_secret)
    await ctx.revocations.check(claims)  # logout and "sign out everywhere" end it at once
    # Roles come from the database, not the token, so a removed role stops working at once.
    return await users.principal_for(ctx, claims.sub, ip, mfa=claims.mfa)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
PageLimit = Annotated[int, Query(ge=1, le=200, description="Page size")]
PageOffset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip")]
