"""Who may read an org's usage: the admin JWT user-org issues, checked against the org.

Mirrors user-org's policy (authz/policy.rego): every org role reads the org's budgets and
keys, so every role reads its usage; bulk exports are for owner, admin and billing. A caller
outside the org gets 404, as if the org did not exist; platform admins see every org.
The caller's claims come from deps.Caller.
"""

from __future__ import annotations

from typing import Literal

from aistrale_common.auth.admin_token import AdminClaims, Role
from aistrale_common.errors import NotFound, PermissionDenied

Action = Literal["usage.read", "usage.export"]
ALLOWED: dict[Action, frozenset[Role]] = {
    "usage.read": frozenset({"owner", "admin", "member", "billing", "viewer"}),
    "usage.export": frozenset({"owner", "admin", "billing"}),
}


def authorize(claims: AdminClaims, org_id: str, action: Action) -> None:
    if claims.platform_admin:
        return
    role = claims.role_in(org_id)
    if role is None:
        raise NotFound(f"Organization {org_id} not found", code="org_not_found")
    if role not in ALLOWED[action]:
        raise PermissionDenied(f"Role {role!r} may not do {action}")
