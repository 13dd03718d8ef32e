"""Bearer token -> KeyRecord: hash, cache, ask user-org on a miss, refuse what is not usable.

Concurrent misses for the same key share one lookup. When user-org is unreachable, a key
seen within the stale grace keeps working; an unknown key gets 503, not 401.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Protocol

from aistrale_common.errors import AuthenticationFailed, ServiceUnavailable
from aistrale_common.logging import get_logger
from aistrale_common.single_flight import SingleFlight
from aistrale_router.keys.cache import KeyCache
from aistrale_router.keys.lookup import LookupUnavailable
from aistrale_router.keys.record import KeyRecord

log = get_logger(__name__)


class KeyLookup(Protocol):
    async def lookup(self, key_hash: str) -> KeyRecord | None: ...


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationFailed("You didn't provide an API key.")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed("Incorrect API key provided.")
    return token


class KeyResolver:
    def __init__(self, cache: KeyCache, lookup: KeyLookup) -> None:
        self.cache = cache
        self._lookup = lookup
        self._lookups: SingleFlight[str, KeyRecord | None] = SingleFlight()

    async def authenticate(self, authorization: str | None) -> KeyRecord:
        key_hash = hash_key(bearer_token(authorization))
        cached = self.cache.fresh(key_hash)
        record = cached.record if cached is not None else await self._fetch(key_hash)
        return _usable(record)

    async def _fetch(self, key_hash: str) -> KeyRecord | None:
        return await self._lookups.run(key_hash, lambda: self._ask(key_hash))

    async def _ask(self, key_hash: str) -> KeyRecord | None:
        try:
            record = await self._lookup.lookup(key_hash)
        except LookupUnavailable as exc:
            stale = self.cache.stale(key_hash)
            if stale is None:
                raise ServiceUnavailable("Key service unavailable; retry shortly.") from exc
            log.warning("key_lookup_stale", error=str(exc), key_id=stale.key_id)
            return stale
        self.cache.put(key_hash, record)
        return record


def _usable(record: KeyRecord | None) -> KeyRecord:
    if record is None or record.status != "active":
        raise AuthenticationFailed("Incorrect API key provided.")
    if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
        raise AuthenticationFailed("The API key has expired.")
    return record
