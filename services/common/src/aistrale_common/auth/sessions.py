"""Session revocation: access tokens carry a session id (`sid`) and their issue time in ms;
a logout, a password change or "sign out everywhere" writes to a revocation list that
user-org and analytics both read on every request, so those tokens stop working at once
instead of at their expiry.

Entries live as long as an access token can (its TTL): after that the token has expired
anyway. The list is the expiring key-value store (Redis in production, in process for
`make run`, where all services share one store).
"""

from __future__ import annotations

import time

from aistrale_common.auth.admin_token import AdminClaims
from aistrale_common.errors import AuthenticationFailed
from aistrale_common.kv import KeyValue


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Revocations:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def revoke_session(self, sid: str, ttl_s: float) -> None:
        await self._kv.set(f"session:revoked:{sid}", "1", ttl_s)

    async def revoke_user(self, user_id: str, ttl_s: float, at_ms: int | None = None) -> None:
        """Every access token of the user issued up to now stops working."""
        await self._kv.set(f"session:cutoff:{user_id}", str(at_ms or now_ms()), ttl_s)

    async def is_revoked(self, claims: AdminClaims) -> bool:
        keys = [f"session:cutoff:{claims.sub}"]
        if claims.sid is not None:
            keys.append(f"session:revoked:{claims.sid}")
        cutoff, *session = await self._kv.get_many(keys)
        if any(v is not None for v in session):
            return True
        return cutoff is not None and (claims.issued_ms or 0) <= int(cutoff)

    async def check(self, claims: AdminClaims) -> None:
        if await self.is_revoked(claims):
            raise AuthenticationFailed(
                "This session has ended; sign in again", code="session_revoked"
            )
