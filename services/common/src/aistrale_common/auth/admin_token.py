"""Admin access tokens: issued by user-org, verified by user-org and analytics alike.

HS256 JWTs signed with AISTRALE_JWT_SECRET. A token proves who is calling and which session
it belongs to (`sid`, checked against the revocation list, auth/sessions.py); it grants
nothing by itself. The role claims are informational (the console shows them): user-org
reads roles from its database and analytics asks user-org (docs/decisions/
authz-one-source.md), so a role change takes effect at once, not at the next refresh.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt
from pydantic import BaseModel, ConfigDict, ValidationError

from aistrale_common.errors import AuthenticationFailed

ISSUER = "aistrale-user-org"
AUDIENCE = "aistrale-admin"
ALGORITHM = "HS256"
Role = Literal["owner", "admin", "member", "billing", "viewer"]


class AdminClaims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str  # user id, or admin API key id
    email: str | None = None
    platform_admin: bool = False
    orgs: dict[str, Role] = {}
    jti: str | None = None
    sid: str | None = None  # the session (refresh-token family) this token belongs to
    issued_ms: int | None = None  # issue time in ms: "revoke everything up to now" needs it
    mfa: bool = False  # the session passed a second factor (or is an admin API key's)

    def role_in(self, org_id: str) -> Role | None:
        return self.orgs.get(org_id)


def issue_admin_token(claims: AdminClaims, secret: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    payload = {
        **claims.model_dump(exclude_none=True),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "typ": "access",
        "issued_ms": claims.issued_ms or time.time_ns() // 1_000_000,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify_admin_token(token: str, secret: str) -> AdminClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(
            f"Invalid or expired access token ({exc})", code="invalid_token"
        ) from exc
    if payload.get("typ") != "access":
        raise AuthenticationFailed("Not an access token", code="invalid_token")
    try:
        return AdminClaims.model_validate(payload)
    except ValidationError as exc:
        raise AuthenticationFailed("Malformed access token", code="invalid_token") from exc
