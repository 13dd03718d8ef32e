"""The session store port and its two adapters. Keys are SHA-256 of the cookie value, so
a dump of the store (or of Redis) holds no usable session id."""

from __future__ import annotations

import math
from typing import Protocol

from redis.asyncio import Redis

from aistrale_common.clock import Clock, system_clock
from aistrale_common.sessions.record import SessionRecord


class SessionStore(Protocol):
    async def put(self, key: str, record: SessionRecord, ttl_s: float) -> None: ...

    async def get(self, key: str) -> SessionRecord | None: ...

    async def delete(self, key: str) -> None: ...

    async def set_floor(self, user_id: str, at: float, ttl_s: float) -> None:
        """Sessions of `user_id` created before `at` are void (kept `ttl_s`)."""

    async def floor(self, user_id: str) -> float | None: ...

    async def aclose(self) -> None: ...


class MemorySessionStore:
    """In-process, for `make run` (one process serves every service)."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock
        self._rows: dict[str, tuple[float, str]] = {}
        self._floors: dict[str, tuple[float, float]] = {}  # user id: (until, floor)

    async def put(self, key: str, record: SessionRecord, ttl_s: float) -> None:
        self._sweep()
        self._rows[key] = (self._clock() + ttl_s, record.model_dump_json())

    async def get(self, key: str) -> SessionRecord | None:
        row = self._rows.get(key)
        if row is None or row[0] <= self._clock():
            self._rows.pop(key, None)
            return None
        return SessionRecord.model_validate_json(row[1])

    async def delete(self, key: str) -> None:
        self._rows.pop(key, None)

    async def set_floor(self, user_id: str, at: float, ttl_s: float) -> None:
        self._floors[user_id] = (self._clock() + ttl_s, at)

    async def floor(self, user_id: str) -> float | None:
        row = self._floors.get(user_id)
        if row is None or row[0] <= self._clock():
            self._floors.pop(user_id, None)
            return None
        return row[1]

    async def aclose(self) -> None:
        self._rows.clear()
        self._floors.clear()

    def _sweep(self) -> None:
        # Bounded memory without a background task: expired rows go on the next write.
        now = self._clock()
        for key in [k for k, (until, _) in self._rows.items() if until <= now]:
            del self._rows[key]
        for user in [u for u, (until, _) in self._floors.items() if until <= now]:
            del self._floors[user]


class RedisSessionStore:
    """Production: shared by every replica of user-org and analytics; Redis expires rows."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}session:"

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisSessionStore:
        return cls(Redis.from_url(url), prefix)

    async def put(self, key: str, record: SessionRecord, ttl_s: float) -> None:
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        await self._redis.set(self._prefix + key, record.model_dump_json(), px=ttl_ms)

    async def get(self, key: str) -> SessionRecord | None:
        raw = await self._redis.get(self._prefix + key)
        return None if raw is None else SessionRecord.model_validate_json(raw)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def set_floor(self, user_id: str, at: float, ttl_s: float) -> None:
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        await self._redis.set(f"{self._prefix}floor:{user_id}", repr(at), px=ttl_ms)

    async def floor(self, user_id: str) -> float | None:
        raw = await self._redis.get(f"{self._prefix}floor:{user_id}")
        return None if raw is None else float(raw)

    async def aclose(self) -> None:
        await self._redis.aclose()


def open_session_store(redis_url: str | None, prefix: str) -> SessionStore:
    if redis_url:
        return RedisSessionStore.from_url(redis_url, prefix)
    return MemorySessionStore()
