"""Who may read an org's usage: user-org decides (the one Rego policy), analytics asks.

The admin JWT proves who is calling and which session; its role claims are not trusted
(a removed member's token still carries them). Each request checks the session against
the revocation list, then asks user-org's policy (cached until a control event).
A caller outside the org gets 404, as if the org did not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aistrale_analytics.authz.decisions import UserOrgAuthorizer
from aistrale_analytics.settings import Settings
from aistrale_common.auth.admin_token import AdminClaims, verify_admin_token
from aistrale_common.auth.sessions import Revocations
from aistrale_common.errors import AuthenticationFailed, NotFound, PermissionDenied
from aistrale_common.sessions import SessionManager
from aistrale_common.sessions.cookies import resolve_request, session_id_of

Action = Literal["usage.read", "usage.export"]
_bearer = HTTPBearer(auto_error=False)


async def authorize(request: Request, claims: AdminClaims, org_id: str, action: Action) -> None:
    authorizer: UserOrgAuthorizer = request.app.state.authorizer
    decision = await authorizer.decide(claims.sub, org_id, action, claims.mfa)
    if decision == "allow":
        return
    if decision == "unauthenticated":
        raise AuthenticationFailed("The token's user no longer exists", code="invalid_token")
    if decision == "not_found":
        raise NotFound(f"Organization {org_id} not found", code="org_not_found")
    raise PermissionDenied(f"Your role may not do {action}")


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AdminClaims:
    if credentials is None and session_id_of(request) is not None:
        # The console's session cookie: who, and whether the sign-in proved a second factor;
        # what they may do is user-org's decision (authorize), as for a bearer token.
        sessions: SessionManager = request.app.state.sessions
        _, record = await resolve_request(sessions, request, request.method)
        return record.claims()
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("Missing bearer access token", code="invalid_token")
    settings: Settings = request.app.state.settings
    claims = verify_admin_token(credentials.credentials, settings.secret("jwt_secret"))
    revocations: Revocations = request.app.state.revocations
    await revocations.check(claims)
    return claims


Caller = Annotated[AdminClaims, Depends(caller)]
