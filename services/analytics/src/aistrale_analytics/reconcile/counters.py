"""The router's budget spend counters in Redis, read and corrected from analytics.

The layout is the shared contract in aistrale_common.budget_counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from redis.asyncio import Redis

from aistrale_common.budget_counters import floor_key


class SpendCounters(Protocol):
    async def read(self, keys: Sequence[str]) -> list[int]:
        """What each counter says a budget spent: the counter or its floor, the larger."""
        ...

    async def raise_to(self, key: str, floor: int, ttl_s: int) -> int:
        """Raises what the counter's budget sees to at least `floor`, in one atomic step, by
        writing the counter's floor key (the routers' own counter is left alone); returns
        how much it raised. Idempotent, so every analytics replica may run it, and a
        settlement a router replays afterwards is not counted twice."""
        ...


# KEYS[1] counter, KEYS[2] its floor; ARGV[1] the ledger, ARGV[2] ttl (0: none).
# Returns how much the spend the budget sees went up.
_RAISE_TO = """
local counted = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
local missing = tonumber(ARGV[1]) - math.max(counted, floor)
if missing <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return missing
"""


class RedisSpendCounters:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._raise_to = redis.register_script(_RAISE_TO)

    async def read(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        values = await self._redis.mget([k for key in keys for k in (key, floor_key(key))])
        numbers = [int(v) if v is not None else 0 for v in values]
        return [max(numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2)]

    async def raise_to(self, key: str, floor: int, ttl_s: int) -> int:
        added = await self._raise_to(keys=[key, floor_key(key)], args=[floor, ttl_s])
        return int(added)
