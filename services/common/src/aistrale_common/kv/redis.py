"""The Redis adapter (redis-py asyncio); keys are namespaced by the service's prefix."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aistrale_common.errors import ServiceUnavailable
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


@contextlib.contextmanager
def _answering() -> Iterator[None]:
    """Redis away: a 503 for the caller (fail closed: no session is taken as valid, no
    signature as fresh), never a 500."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable(
            "The security state store is unavailable; try again", code="state_store_unavailable"
        ) from exc


class RedisKV:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._incr = redis.register_script(_INCR)

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        with _answering():
            values = await self._redis.mget([self._prefix + k for k in keys])
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        with _answering():
            await self._redis.set(self._prefix + key, value, px=_ms(ttl_s))

    async def add(self, key: str, value: str, ttl_s: float) -> bool:
        with _answering():
            return bool(await self._redis.set(self._prefix + key, value, px=_ms(ttl_s), nx=True))

    async def incr(self, key: str, window_s: float) -> tuple[int, float]:
        with _answering():
            count, left_ms = await self._incr(keys=[self._prefix + key], args=[_ms(window_s)])
        return int(count), int(left_ms) / 1000

    async def close(self) -> None:
        await self._redis.aclose()


def connect_redis(redis_url: str) -> Redis:
    """A client whose commands survive the pooled connections an outage killed: a dead one
    is replaced and the command sent again (twice at most, milliseconds apart), so the first
    calls after Redis comes back are answered instead of refused."""
    return Redis.from_url(
        redis_url,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.005), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2,
    )


def open_kv(redis_url: str | None, prefix: str) -> KeyValue:
    """Redis when a URL is configured, else the in-process store (one process only)."""
    if redis_url is None:
        return MemoryKV()
    return RedisKV(connect_redis(redis_url), prefix)
