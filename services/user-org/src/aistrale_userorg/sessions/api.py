"""HTTP: /admin/v1/auth/session — the console signs in (cookie), reads, and signs out.

POST answers with the CSRF token too (also in the readable `aistrale_csrf` cookie): every
mutating call made with the session cookie must echo it in `X-CSRF-Token`.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from aistrale_common.errors import AuthenticationFailed
from aistrale_common.sessions import SessionRecord
from aistrale_common.sessions.cookies import resolve_request, session_id_of
from aistrale_userorg.deps import ClientIp, ContextDep
from aistrale_userorg.schemas import errors
from aistrale_userorg.sessions import service

router = APIRouter(prefix="/admin/v1/auth/session", tags=["auth"])


class SessionLogin(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "admin@example.com", "password": "..."}]}
    )
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(
        default=None, max_length=64, description="TOTP or recovery code, when MFA is on"
    )


class SessionInfo(BaseModel):
    user_id: str
    email: str | None
    platform_admin: bool
    csrf_token: str
    expires_at: float = Field(description="Absolute end of the session (epoch seconds)")
    idle_timeout_s: float


def _info(record: SessionRecord) -> SessionInfo:
    return SessionInfo(
        user_id=record.user_id,
        email=record.email,
        platform_admin=record.platform_admin,
        csrf_token=record.csrf_token,
        expires_at=record.absolute_expires_at,
        idle_timeout_s=record.idle_timeout_s,
    )


@router.post(
    "",
    summary="Sign in to the console: sets the HTTP-only session cookie",
    responses=errors(401, 422, 429),
)
async def login(
    ctx: ContextDep, ip: ClientIp, body: SessionLogin, response: Response
) -> SessionInfo:
    made = await service.login(ctx, body.email, body.password, ip, body.code)
    max_age = math.ceil(ctx.sessions.absolute_timeout_s)
    ctx.cookies.set(response, made.session_id, made.record.csrf_token, max_age)
    return _info(made.record)


@router.get(
    "",
    summary="The signed-in session (401 when none)",
    responses=errors(401),
)
async def current(ctx: ContextDep, ip: ClientIp, request: Request) -> SessionInfo:
    session_id, record = await resolve_request(ctx.sessions, request, "GET")
    await service.principal_of(ctx, session_id, record, ip)  # the user still exists
    return _info(record)


@router.delete(
    "",
    status_code=204,
    summary="Sign out: ends the session server-side and clears the cookies",
    responses=errors(403),
)
async def logout(ctx: ContextDep, ip: ClientIp, request: Request) -> Response:
    done = Response(status_code=204)
    if session_id_of(request) is not None:
        try:
            session_id, record = await resolve_request(ctx.sessions, request, "DELETE")
        except AuthenticationFailed:
            pass  # expired or already ended: only the cookies are left to clear
        else:
            await service.logout(ctx, session_id, record, ip)
    ctx.cookies.clear(done)
    return done
