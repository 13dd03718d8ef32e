"""What can go wrong with the shared limits store, decided once, where Redis answers.

Two kinds, handled differently by the Redis-down policy (resilient.py):

- `StoreUnavailable`: Redis cannot be reached or cannot serve right now (connection lost,
  timeout, loading, failover). It says nothing about any one org: a few in a row take the
  store as down for the whole router, and the declared policy applies.
- `StoreFault`: Redis answered, and the answer is an error a retry will not fix (a script
  failing on one scope's keys, a key of the wrong type). It is a bug: it fails the request
  whose keys it concerns, is logged at error level and counted, and never feeds the
  breaker, so other orgs keep being served.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import RedisError, ResponseError

T = TypeVar("T")

# Error replies that describe the server's state, not the script or the keys.
_TRANSIENT = (
    *("LOADING", "BUSY", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "OOM"),
    *("NOREPLICAS", "MISCONF", "UNBLOCKED"),
)


class StoreUnavailable(Exception):
    """The shared store cannot answer now."""


class StoreFault(Exception):
    """The shared store answered with an error that concerns this call's keys."""


def translated(exc: BaseException) -> StoreUnavailable | StoreFault | None:
    """Our error for a Redis client's exception, None for one that is not about Redis."""
    if isinstance(exc, ResponseError):
        message = str(exc)
        if message.startswith(_TRANSIENT):
            return StoreUnavailable(message)
        return StoreFault(message)
    if isinstance(exc, RedisError | OSError | TimeoutError):
        return StoreUnavailable(f"{type(exc).__name__}: {exc}")
    return None


async def guarded(call: Awaitable[T]) -> T:
    """Awaits a Redis call, raising only our two errors for what Redis did."""
    try:
        return await call
    except (RedisError, OSError, TimeoutError) as exc:
        ours = translated(exc)
        assert ours is not None
        raise ours from exc
