"""Creating, resolving and ending sessions, with idle and absolute timeouts.

The cookie carries a random id; the store is keyed by its SHA-256. Resolving a session
moves its idle deadline forward, written back at most every `touch_every_s` so that a
console polling the API does not write to the store on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aistrale_common.auth.admin_token import Role
from aistrale_common.clock import Clock, system_clock
from aistrale_common.errors import AuthenticationFailed, PermissionDenied
from aistrale_common.sessions.record import SessionRecord
from aistrale_common.sessions.store import SessionStore

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    session_id: str
    record: SessionRecord


class SessionManager:
    def __init__(
        self,
        store: SessionStore,
        *,
        idle_timeout_s: float = 1800.0,
        absolute_timeout_s: float = 12 * 3600.0,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.idle_timeout_s = idle_timeout_s
        self.absolute_timeout_s = absolute_timeout_s
        self._clock = clock
        self._touch_every_s = min(60.0, idle_timeout_s / 10)

    async def create(
        self,
        user_id: str,
        email: str | None,
        platform_admin: bool,
        orgs: dict[str, Role],
        *,
        mfa: bool = False,
    ) -> NewSession:
        now = self._clock()
        record = SessionRecord(
            user_id=user_id,
            email=email,
            platform_admin=platform_admin,
            orgs=orgs,
            mfa=mfa,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            idle_timeout_s=self.idle_timeout_s,
            absolute_expires_at=now + self.absolute_timeout_s,
        )
        session_id = secrets.token_urlsafe(32)
        await self.store.put(_key(session_id), record, record.ttl_s(now))
        return NewSession(session_id, record)

    async def resolve(self, session_id: str) -> SessionRecord:
        """The live session, or 401; its idle deadline moves forward."""
        key = _key(session_id)
        record = await self.store.get(key)
        now = self._clock()
        if record is not None and not record.expired(now):
            floor = await self.store.floor(record.user_id)
            if floor is not None and record.created_at <= floor:
                record = record.model_copy(update={"absolute_expires_at": now})  # voided
        if record is None or record.expired(now):
            if record is not None:
                await self.store.delete(key)
            raise AuthenticationFailed("Session expired; sign in again", code="session_expired")
        if now - record.last_seen_at >= self._touch_every_s:
            record = record.model_copy(update={"last_seen_at": now})
            await self.store.put(key, record, record.ttl_s(now))
        return record

    async def refresh_roles(
        self, session_id: str, record: SessionRecord, orgs: dict[str, Role], platform_admin: bool
    ) -> None:
        """Keep the roles snapshot in step with user-org's database (informational)."""
        now = self._clock()
        same = record.orgs == orgs and record.platform_admin == platform_admin
        if same:
            return
        updated = record.model_copy(update={"orgs": orgs, "platform_admin": platform_admin})
        await self.store.put(_key(session_id), updated, updated.ttl_s(now))

    async def end(self, session_id: str) -> None:
        await self.store.delete(_key(session_id))

    async def end_user(self, user_id: str) -> None:
        """Ends every session of the user signed in until now (a password change). Kept as
        long as a session can live, since the store cannot list a user's sessions."""
        await self.store.set_floor(user_id, self._clock(), self.absolute_timeout_s)


def check_csrf(record: SessionRecord, method: str, header: str | None) -> None:
    """Double submit: a mutating call must echo the session's CSRF token in a header, which
    another site's page cannot read (the CSRF cookie is SameSite=Strict and same-origin)."""
    if method.upper() in SAFE_METHODS:
        return
    if header is None or not hmac.compare_digest(header.encode(), record.csrf_token.encode()):
        raise PermissionDenied(
            "Missing or wrong X-CSRF-Token header for a cookie-authenticated call",
            code="csrf_failed",
        )
