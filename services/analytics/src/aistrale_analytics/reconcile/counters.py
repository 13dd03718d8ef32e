"""The router's budget spend counters in Redis, read and corrected from analytics.

The layout is the router's (docs/budgets.md "Redis layout", admission/plan.py), repeated
here because services never import each other: `{prefix}{<org>}:b:<scope>:<id>:s:<label>`
with scope `org` or `key` and label `d20261118` (day), `m202611` (month) or `t` (total).
Counters are integer micro-USD, kept 3 days / 63 days / forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

from redis.asyncio import Redis

Period = Literal["day", "month", "total"]
Scope = Literal["org", "key"]
DAY_S = 86_400
TTL_S: dict[Period, int] = {"day": 3 * DAY_S, "month": 63 * DAY_S, "total": 0}


def period_label(period: Period, moment: datetime) -> str:
    if period == "day":
        return moment.strftime("d%Y%m%d")
    if period == "month":
        return moment.strftime("m%Y%m")
    return "t"


def spend_key(prefix: str, org_id: str, scope: Scope, scope_id: str, label: str) -> str:
    return f"{prefix}{{{org_id}}}:b:{scope}:{scope_id}:s:{label}"


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
