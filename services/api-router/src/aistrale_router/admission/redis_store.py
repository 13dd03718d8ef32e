"""The Redis store: each operation is one Lua script call, atomic across router replicas."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from aistrale_router.admission.lua import ADMIT, EXTEND, SETTLE
from aistrale_router.admission.plan import Plan
from aistrale_router.admission.verdict import Verdict

SCOPE_GRACE_MS = 60_000  # a scope's holds outlive its last reservation by this much
POOL_WAIT_S = 2.0  # a burst queues for a connection; that is load, not Redis being away


class RedisStore:
    def __init__(self, url: str, *, timeout_s: float, max_connections: int = 64) -> None:
        # A blocking pool: a burst of requests waits for a free connection (up to the
        # timeout) instead of failing with "Too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=max(POOL_WAIT_S, timeout_s),
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
        self.redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._admit: Any = self.redis.register_script(ADMIT)
        self._settle: Any = self.redis.register_script(SETTLE)
        self._extend: Any = self.redis.register_script(EXTEND)

    async def admit(self, plan: Plan, rid: str) -> Verdict:
        scope_ttl = plan.deadline_ms - plan.now_ms + SCOPE_GRACE_MS
        header = [plan.now_ms, rid, plan.deadline_ms, plan.prompt, plan.want]
        header += [int(plan.explicit), plan.min_tokens, plan.price_in, plan.price_out]
        header += [len(plan.windows), len(plan.scopes), len(plan.lines), scope_ttl]
        args = header + _window_args(plan) + _line_args(plan)
        keys = [w.key for w in plan.windows] + _scope_keys(plan) + [x.spent_key for x in plan.lines]
        reply = await self._admit(keys=keys, args=args)
        status, grant, held, blocking, *counts = (int(x) for x in reply)
        return Verdict(status, grant, held, blocking, tuple(counts))

    async def settle(
        self, plan: Plan, rid: str, token_delta: int, cost: int, tpm_keys: list[str]
    ) -> None:
        keys = _scope_keys(plan) + tpm_keys + [s.key for s in plan.spend]
        args = [rid, len(plan.scopes), len(tpm_keys), len(plan.spend), token_delta, cost]
        args += [s.ttl_s for s in plan.spend]
        await self._settle(keys=keys, args=args)

    async def extend(
        self, plan: Plan, rid: str, need: int, extra: int, now_ms: int, deadline_ms: int
    ) -> int:
        scope_ttl = deadline_ms - now_ms + SCOPE_GRACE_MS
        args = [now_ms, rid, deadline_ms, need, extra, len(plan.scopes), len(plan.lines)]
        keys = _scope_keys(plan) + [x.spent_key for x in plan.lines]
        return int(await self._extend(keys=keys, args=[*args, scope_ttl, *_line_args(plan)]))

    async def read(self, key: str, now_ms: int) -> int:
        return int(await self.redis.get(key) or 0)

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()


def _scope_keys(plan: Plan) -> list[str]:
    return [key for scope in plan.scopes for key in (f"{scope}:held", f"{scope}:exp")]


def _window_args(plan: Plan) -> list[int]:
    kinds = {"requests": 0, "tokens": 1}
    return [x for w in plan.windows for x in (w.limit, kinds[w.kind], w.ttl_ms)]


def _line_args(plan: Plan) -> list[int]:
    return [x for line in plan.lines for x in (line.limit, line.scope + 1)]
