"""The two cookies: the session id (HTTP-only) and the CSRF token (readable by the app)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from aistrale_common.errors import AuthenticationFailed
from aistrale_common.sessions.manager import SessionManager, check_csrf
from aistrale_common.sessions.record import SessionRecord

SESSION_COOKIE = "aistrale_session"
CSRF_COOKIE = "aistrale_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class SessionCookies:
    secure: bool  # Secure outside development: browsers then send it over HTTPS only

    def set(self, response: Response, session_id: str, csrf: str, max_age_s: int) -> None:
        for name, value, http_only in (
            (SESSION_COOKIE, session_id, True),
            (CSRF_COOKIE, csrf, False),
        ):
            response.set_cookie(
                name,
                value,
                max_age=max_age_s,
                path="/",
                secure=self.secure,
                httponly=http_only,
                samesite="strict",
            )

    def clear(self, response: Response) -> None:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", secure=self.secure, samesite="strict")


def session_id_of(request: HTTPConnection) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


async def resolve_request(
    manager: SessionManager, request: HTTPConnection, method: str
) -> tuple[str, SessionRecord]:
    """The session behind the request's cookie, CSRF-checked for mutating methods."""
    session_id = session_id_of(request)
    if session_id is None:
        raise AuthenticationFailed("Missing bearer token or session cookie", code="unauthenticated")
    record = await manager.resolve(session_id)
    check_csrf(record, method, request.headers.get(CSRF_HEADER))
    return session_id, record
