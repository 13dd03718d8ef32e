"""Bearer token -> KeyRecord: hash, cache, ask user-org when needed, refuse what is not usable.

Stale while revalidate (docs/decisions/router-key-cache-stale-while-revalidate.md): a key
past its TTL is served at once while one background refresh asks user-org, so a slow or
stopped user-org never costs a request its lookup timeout. After a control event the next
request waits for user-org, so that the change applies to it, unless user-org is known to
be failing; when user-org does not answer, the last answer (inside the grace) is used. A
revoked key is never served, and neither is a stale "unknown key": an unknown key while
user-org is away gets 503, not 401.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from aistrale_common.errors import AuthenticationFailed, ServiceUnavailable
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.keys.cache import CHANGED, FRESH, STALE, CachedKey, KeyCache
from aistrale_router.keys.lookups import KeyLookup, KeyLookups, RefreshPolicy
from aistrale_router.keys.metrics import KeyMetrics, StaleReason
from aistrale_router.keys.record import KeyRecord
from aistrale_router.userorg_api import LookupUnavailable

__all__ = ["KeyLookup", "KeyResolver", "RefreshPolicy", "bearer_token", "hash_key"]

log = get_logger(__name__)


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationFailed("You didn't provide an API key.")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed(_hint(authorization))
    return token


def _hint(authorization: str) -> str:
    # A bare key, or another scheme: the commonest first mistake with curl. The header's
    # value is never echoed (it may be a real key).
    if authorization.strip().startswith("sk-"):
        return "Incorrect API key provided: send it as `Authorization: Bearer sk-…`."
    return "Incorrect API key provided: the header must be `Authorization: Bearer <your key>`."


class KeyResolver:
    def __init__(
        self,
        cache: KeyCache,
        lookup: KeyLookup,
        *,
        policy: RefreshPolicy | None = None,
        metrics: KeyMetrics | None = None,
    ) -> None:
        self.cache = cache
        self._metrics = metrics or KeyMetrics(ServiceMetrics("api-router"))
        self.lookups = KeyLookups(cache, lookup, policy or RefreshPolicy(), self._metrics)

    async def authenticate(self, authorization: str | None) -> KeyRecord:
        key_hash = hash_key(bearer_token(authorization))
        return _usable(await self._resolve(key_hash))

    async def close(self) -> None:
        await self.lookups.close()

    async def _resolve(self, key_hash: str) -> KeyRecord | None:
        state, entry = self.cache.get(key_hash)
        if state is FRESH:
            return entry.record
        if state is STALE:
            return self._serve_stale(key_hash, entry, "expired")
        if state is CHANGED and self.lookups.failing():
            return self._serve_stale(key_hash, entry, "changed")
        return await self._ask(key_hash)

    def _serve_stale(
        self, key_hash: str, entry: CachedKey, reason: StaleReason
    ) -> KeyRecord | None:
        record = entry.record  # never None: only positive answers are STALE or CHANGED
        if record is None:
            return None
        self._metrics.served_stale(reason)
        # Past the TTL with user-org answering, this is the routine refresh: no log. A
        # refresh that fails says the key is being served stale (keys/lookups.py).
        self.lookups.refresh(key_hash)
        return record

    async def _ask(self, key_hash: str) -> KeyRecord | None:
        try:
            return await self.lookups.ask(key_hash)
        except LookupUnavailable as exc:
            # Read again: a revocation may have come while we waited.
            fallback = self.cache.fallback(key_hash)
            if fallback is None:
                raise ServiceUnavailable("Key service unavailable; retry shortly.") from exc
            if fallback.status == "active":  # a revoked one is refused, not served
                self._metrics.served_stale("lookup_failed")
                log.warning("key_lookup_stale", error=str(exc), key_id=fallback.key_id)
            return fallback


def _usable(record: KeyRecord | None) -> KeyRecord:
    if record is None or record.status != "active":
        raise AuthenticationFailed("Incorrect API key provided.")
    if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
        raise AuthenticationFailed("The API key has expired.")
    return record
