"""Who may read an org's usage: the admin JWT user-org issues, checked against the org.

Mirrors user-org's policy (authz/policy.rego): every org role reads the org's budgets and
keys, so every role reads its usage; bulk exports are for owner, admin and billing. A caller
outside the org gets 404, as if the org did not exist; platform admins see every org.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aistrale_analytics.settings import Settings
from aistrale_common.auth.admin_token import AdminClaims, Role, verify_admin_token
from aistrale_common.errors import AuthenticationFailed, NotFound, PermissionDenied
from aistrale_common.sessions import SessionManager
from aistrale_common.sessions.cookies import resolve_request, session_id_of

Action = Literal["usage.read", "usage.export"]
ALLOWED: dict[Action, frozenset[Role]] = {
    "usage.read": frozenset({"owner", "admin", "member", "billing", "viewer"}),
    "usage.export": frozenset({"owner", "admin", "billing"}),
}
_bearer = HTTPBearer(auto_error=False)


def authorize(claims: AdminClaims, org_id: str, action: Action) -> None:
    if claims.platform_admin:
        return
    role = claims.role_in(org_id)
    if role is None:
        raise NotFound(f"Organization {org_id} not found", code="org_not_found")
    if role not in ALLOWED[action]:
        raise PermissionDenied(f"Role {role!r} may not do {action}")


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AdminClaims:
    if credentials is None and session_id_of(request) is not None:
        # The console's session cookie: the roles user-org keeps in the session record.
        sessions: SessionManager = request.app.state.sessions
        _, record = await resolve_request(sessions, request, request.method)
        return sessions.fresh_claims(record)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("Missing bearer access token", code="invalid_token")
    settings: Settings = request.app.state.settings
    return verify_admin_token(credentials.credentials, settings.secret("jwt_secret"))


Caller = Annotated[AdminClaims, Depends(caller)]
