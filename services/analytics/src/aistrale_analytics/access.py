"""Who may read an org's usage: user-org decides (the one Rego policy), analytics asks.

The admin JWT proves who is calling and which session; its role claims are not trusted
(a removed member's token still carries them). Each request checks the session against
the revocation list, then asks user-org's policy (cached until a control event).
A caller outside the org gets 404, as if the org did not exist.
"""

from __future__ import annotations

from typing import Literal

from aistrale_analytics.authz.decisions import UserOrgAuthorizer
from aistrale_common.auth.admin_token import AdminClaims
from aistrale_common.errors import AuthenticationFailed, NotFound, PermissionDenied

Action = Literal["usage.read", "usage.export", "usage.read_bodies"]


async def authorize(
    authorizer: UserOrgAuthorizer, claims: AdminClaims, org_id: str, action: Action
) -> None:
    """The caller's claims come from deps.Caller (session checked against revocations)."""
    decision = await authorizer.decide(claims.sub, org_id, action, claims.mfa)
    if decision == "allow":
        return
    if decision == "unauthenticated":
        raise AuthenticationFailed("The token's user no longer exists", code="invalid_token")
    if decision == "not_found":
        raise NotFound(f"Organization {org_id} not found", code="org_not_found")
    raise PermissionDenied(f"Your role may not do {action}")
