"""The Redis adapter (redis-py asyncio); keys are namespaced by the service's prefix."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from aistrale_common.kv.memory import MemoryKV
from aistrale_common.kv.port import KeyValue

# INCR and the window's expiry in one atomic step; PTTL tells the caller what is left.
_INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
return {n, left}
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisKV:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._incr = redis.register_script(_INCR)

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        values = await self._redis.mget([self._prefix + k for k in keys])
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        await self._redis.set(self._prefix + key, value, px=_ms(ttl_s))

    async def add(self, key: str, value: str, ttl_s: float) -> bool:
        return bool(await self._redis.set(self._prefix + key, value, px=_ms(ttl_s), nx=True))

    async def incr(self, key: str, window_s: float) -> tuple[int, float]:
        count, left_ms = await self._incr(keys=[self._prefix + key], args=[_ms(window_s)])
        return int(count), int(left_ms) / 1000

    async def close(self) -> None:
        await self._redis.aclose()


def open_kv(redis_url: str | None, prefix: str) -> KeyValue:
    """Redis when a URL is configured, else the in-process store (one process only)."""
    if redis_url is None:
        return MemoryKV()
    return RedisKV(Redis.from_url(redis_url), prefix)
