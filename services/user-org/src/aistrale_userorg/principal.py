"""Who is calling: an anonymous client, a signed-in user, or the router's service token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aistrale_common.auth.admin_token import Role

Kind = Literal["anonymous", "user", "service"]
ROLES: tuple[Role, ...] = ("owner", "admin", "member", "billing", "viewer")


@dataclass(frozen=True)
class Principal:
    kind: Kind
    id: str | None = None
    email: str | None = None
    platform_admin: bool = False
    orgs: Mapping[str, Role] = field(default_factory=dict)
    ip: str | None = None
    mfa: bool = False  # this session passed a second factor

    def role_in(self, org_id: str) -> Role | None:
        return self.orgs.get(org_id)

    def policy_input(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "platform_admin": self.platform_admin,
            "orgs": dict(self.orgs),
            "mfa": self.mfa,
        }


def anonymous(ip: str | None, email: str | None = None) -> Principal:
    return Principal(kind="anonymous", email=email, ip=ip)


SERVICE = Principal(kind="service", id="service:api-router")
