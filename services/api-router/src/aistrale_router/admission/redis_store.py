"""The Redis store: each operation is one Lua script call, atomic across router replicas.

Every call raises only `StoreUnavailable` or `StoreFault` (store_errors.py) for what Redis
did. The calls go over one pipelined connection (`aistrale_common.resp`): every request makes
two of them, and at 64 requests in flight a connection pool's checkout and one-call-at-a-
time connections cost more than the scripts themselves (docs/decisions/router-hot-path-
routes.md has the measurement).
"""

from __future__ import annotations

from typing import NamedTuple

from aistrale_common.budget_counters import floor_key
from aistrale_common.resp import PipelinedRedis
from aistrale_router.admission.lua import ADMIT, EXTEND, LEASE, SETTLE
from aistrale_router.admission.plan import Plan
from aistrale_router.admission.store_errors import guarded
from aistrale_router.admission.verdict import Verdict

SCOPE_GRACE_MS = 60_000  # a scope's holds outlive its last reservation by this much


class LeaseReply(NamedTuple):
    granted: bool
    held: int  # what the lease holds now in the first scope
    counts: tuple[int, ...]  # each window's count
    used: tuple[int, ...]  # each budget line's spend plus holds, before this call


class RedisStore:
    def __init__(self, url: str, *, timeout_s: float) -> None:
        self.redis = PipelinedRedis(url, timeout_s=timeout_s)
        self._admit = self.redis.script(ADMIT)
        self._settle = self.redis.script(SETTLE)
        self._extend = self.redis.script(EXTEND)
        self._lease = self.redis.script(LEASE)

    async def admit(self, plan: Plan, rid: str) -> Verdict:
        scope_ttl = plan.deadline_ms - plan.now_ms + SCOPE_GRACE_MS
        header = [plan.now_ms, rid, plan.deadline_ms, plan.prompt, plan.want]
        header += [int(plan.explicit), plan.min_tokens, plan.price_in, plan.price_out]
        header += [len(plan.windows), len(plan.scopes), len(plan.lines), scope_ttl, plan.choices]
        args = header + _window_args(plan) + _line_args(plan)
        keys = [w.key for w in plan.windows] + _scope_keys(plan) + _line_keys(plan)
        reply = await guarded(self.redis.run_script(self._admit, keys, args))
        status, grant, held, blocking, *rest = (int(x) for x in reply)
        nw = len(plan.windows)
        return Verdict(status, grant, held, blocking, tuple(rest[:nw]), tuple(rest[nw:]))

    async def settle(
        self,
        plan: Plan,
        rid: str,
        token_delta: int,
        cost: int,
        tpm_keys: list[str],
        *,
        lease: str = "",
        release: int = 0,
    ) -> None:
        """As the Store does; `release`: the part of `lease`'s hold the request had."""
        keys = _scope_keys(plan) + tpm_keys + [s.key for s in plan.spend]
        args = [rid, len(plan.scopes), len(tpm_keys), len(plan.spend), token_delta, cost]
        args += [lease, release, *(s.ttl_s for s in plan.spend)]
        await guarded(self.redis.run_script(self._settle, keys, args))

    async def lease(
        self, plan: Plan, lease: str, wants: list[int], amount: int, now_ms: int, deadline_ms: int
    ) -> LeaseReply:
        """`wants[i]` more of window i and `amount` micro-USD more held under `lease`, all or
        nothing, and the lease's deadline moved; with nothing wanted it only renews."""
        scope_ttl = deadline_ms - now_ms + SCOPE_GRACE_MS
        args = [now_ms, lease, deadline_ms, amount, len(plan.windows), len(plan.scopes)]
        args += [len(plan.lines), scope_ttl]
        for want, window in zip(wants, plan.windows, strict=True):
            args += [want, window.limit, window.ttl_ms(now_ms)]
        args += _line_args(plan)
        keys = [w.key for w in plan.windows] + _scope_keys(plan)
        keys += _line_keys(plan)
        reply = await guarded(self.redis.run_script(self._lease, keys, args))
        granted, held, *rest = (int(x) for x in reply)
        nw = len(plan.windows)
        return LeaseReply(granted == 1, held, tuple(rest[:nw]), tuple(rest[nw:]))

    async def extend(
        self, plan: Plan, rid: str, need: int, extra: int, now_ms: int, deadline_ms: int
    ) -> int:
        scope_ttl = deadline_ms - now_ms + SCOPE_GRACE_MS
        args = [now_ms, rid, deadline_ms, need, extra, len(plan.scopes), len(plan.lines)]
        keys = _scope_keys(plan) + _line_keys(plan)
        reply = await guarded(
            self.redis.run_script(self._extend, keys, [*args, scope_ttl, *_line_args(plan)])
        )
        return int(reply)

    async def read(self, key: str, now_ms: int) -> int:
        return int(await guarded(self.redis.call("GET", key)) or 0)

    async def ping(self) -> None:
        await guarded(self.redis.call("PING"))

    async def close(self) -> None:
        await self.redis.close()


def _line_keys(plan: Plan) -> list[str]:
    return [key for line in plan.lines for key in (line.spent_key, floor_key(line.spent_key))]


def _scope_keys(plan: Plan) -> list[str]:
    return [key for scope in plan.scopes for key in (f"{scope}:held", f"{scope}:exp")]


def _window_args(plan: Plan) -> list[int]:
    kinds = {"requests": 0, "tokens": 1}
    return [x for w in plan.windows for x in (w.limit, kinds[w.kind], w.ttl_ms(plan.now_ms))]


def _line_args(plan: Plan) -> list[int]:
    return [x for line in plan.lines for x in (line.limit, line.scope + 1)]
