"""The limits port: counters in fixed windows, in Redis or in process."""

from aistrale_common.limits.memory import MemoryLimiterStore
from aistrale_common.limits.port import LimiterStore, WindowDecision
from aistrale_common.limits.redis import RedisLimiterStore

__all__ = [
    "LimiterStore",
    "MemoryLimiterStore",
    "RedisLimiterStore",
    "WindowDecision",
    "open_limiter_store",
]


def open_limiter_store(redis_url: str | None, prefix: str) -> LimiterStore:
    if redis_url:
        return RedisLimiterStore(redis_url, prefix)
    return MemoryLimiterStore()
