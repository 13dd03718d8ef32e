"""The router's budget spend counters in Redis, read and corrected from analytics.

The layout is the shared contract in aistrale_common.budget_counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from redis.asyncio import Redis

from aistrale_common.budget_counters import (
    DAY_S,
    SPEND_TTL_S,
    Period,
    Scope,
    period_label,
    spend_key,
)

__all__ = ["DAY_S", "TTL_S", "Period", "Scope", "SpendCounters", "period_label", "spend_key"]
TTL_S = SPEND_TTL_S


class SpendCounters(Protocol):
    async def read(self, keys: Sequence[str]) -> list[int]: ...

    async def raise_to(self, key: str, floor: int, ttl_s: int) -> int:
        """Raises the counter to at least `floor` in one atomic step; returns what it added.
        Idempotent, so every analytics replica may run it, and it never undoes the
        routers' concurrent increments."""
        ...


# KEYS[1] counter; ARGV[1] floor, ARGV[2] ttl (0: none). Returns the amount added.
_RAISE_TO = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local missing = tonumber(ARGV[1]) - current
if missing <= 0 then return 0 end
redis.call('INCRBY', KEYS[1], missing)
if tonumber(ARGV[2]) > 0 and redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return missing
"""


class RedisSpendCounters:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._raise_to = redis.register_script(_RAISE_TO)

    async def read(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        values = await self._redis.mget(list(keys))
        return [int(v) if v is not None else 0 for v in values]

    async def raise_to(self, key: str, floor: int, ttl_s: int) -> int:
        added = await self._raise_to(keys=[key], args=[floor, ttl_s])
        return int(added)
