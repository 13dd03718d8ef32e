"""What a session holds: who signed in, their roles snapshot, its CSRF token and clocks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from aistrale_common.auth.admin_token import AdminClaims, Role


class SessionRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: str
    email: str | None = None
    platform_admin: bool = False
    # A snapshot, informational (what the session was signed in with, kept in step by
    # user-org); authorization always reads roles from user-org's database.
    orgs: dict[str, Role] = {}
    mfa: bool = False  # the sign-in passed a second factor
    csrf_token: str
    created_at: float  # epoch seconds
    last_seen_at: float
    idle_timeout_s: float
    absolute_expires_at: float

    def expired(self, now: float) -> bool:
        return now >= self.absolute_expires_at or now - self.last_seen_at >= self.idle_timeout_s

    def ttl_s(self, now: float) -> float:
        """How long the store should keep it: until the earlier of its two deadlines."""
        return max(
            0.0, min(self.absolute_expires_at, self.last_seen_at + self.idle_timeout_s) - now
        )

    def claims(self) -> AdminClaims:
        return AdminClaims(
            sub=self.user_id,
            email=self.email,
            platform_admin=self.platform_admin,
            orgs=self.orgs,
            mfa=self.mfa,
        )
