"""FastAPI dependencies: analytics' state, its services, and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aistrale_analytics.authz.decisions import UserOrgAuthorizer
from aistrale_analytics.exports.service import ExportService
from aistrale_analytics.exports.worker import ExportWorker
from aistrale_analytics.request_log.service import RequestLogService
from aistrale_analytics.state import AnalyticsState
from aistrale_analytics.usage.service import UsageService
from aistrale_common.auth.admin_token import AdminClaims, verify_admin_token
from aistrale_common.errors import AuthenticationFailed
from aistrale_common.service_state import app_state
from aistrale_common.sessions.cookies import resolve_request, session_id_of

_bearer = HTTPBearer(auto_error=False)


def get_state(request: Request) -> AnalyticsState:
    return app_state(request.app, AnalyticsState)


StateDep = Annotated[AnalyticsState, Depends(get_state)]


def usage_service(state: StateDep) -> UsageService:
    return state.usage


def export_service(state: StateDep) -> ExportService:
    return state.exports


def export_worker(state: StateDep) -> ExportWorker:
    return state.export_worker


def request_log_service(state: StateDep) -> RequestLogService:
    return state.request_log


def authorizer(state: StateDep) -> UserOrgAuthorizer:
    return state.authorizer


async def caller(
    state: StateDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AdminClaims:
    if credentials is None and session_id_of(request) is not None:
        # The console's session cookie: who, and whether the sign-in proved a second factor;
        # what they may do is user-org's decision (authorize), as for a bearer token.
        _, record = await resolve_request(state.sessions, request, request.method)
        return record.claims()
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("Missing bearer access token", code="invalid_token")
    claims = verify_admin_token(credentials.credentials, state.settings.secret("jwt_secret"))
    await state.revocations.check(claims)
    return claims


UsageDep = Annotated[UsageService, Depends(usage_service)]
ExportsDep = Annotated[ExportService, Depends(export_service)]
ExportWorkerDep = Annotated[ExportWorker, Depends(export_worker)]
RequestLogDep = Annotated[RequestLogService, Depends(request_log_service)]
AuthorizerDep = Annotated[UserOrgAuthorizer, Depends(authorizer)]
Caller = Annotated[AdminClaims, Depends(caller)]
