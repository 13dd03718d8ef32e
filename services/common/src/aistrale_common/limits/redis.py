"""Redis limiter store: one Lua round trip per decision, atomic across replicas."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from aistrale_common.limits.port import Clock, WindowDecision, system_clock, window_of

_CONSUME = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if current + amount > limit then
  return {0, current}
end
current = redis.call('INCRBY', KEYS[1], amount)
if current == amount then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, current}
"""


class RedisLimiterStore:
    def __init__(self, url: str, prefix: str, clock: Clock = system_clock) -> None:
        self._redis: aioredis.Redis = aioredis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self._prefix = prefix
        self._clock = clock
        self._consume: Any = self._redis.register_script(_CONSUME)

    async def consume(self, key: str, amount: int, limit: int, window_s: int) -> WindowDecision:
        index, reset = window_of(self._clock(), window_s)
        redis_key = f"{self._prefix}win:{key}:{window_s}:{index}"
        ttl_ms = int(reset * 1000) + 1000
        allowed, count = await self._consume(keys=[redis_key], args=[amount, limit, ttl_ms])
        count = int(count)
        remaining = max(limit - count, 0)
        return WindowDecision(bool(allowed), limit, remaining, reset)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
