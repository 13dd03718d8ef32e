"""The declared Redis-down policy around the shared gatekeeper.

fail_closed (default): while Redis is unavailable, admissions answer 503 — a budget that
cannot be checked is not spent. fail_open: a per-process gatekeeper with the same limits
decides instead (each replica enforces the limits on its own, so the fleet may admit up to
replicas x limit). Either way, settlements that cannot reach Redis are kept and replayed when
it answers again, so the spend counters catch up. After a few failures in a row Redis is
taken as down for `retry_s`: during that time requests do not wait for Redis timeouts.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Mapping
from typing import Literal, TypeVar

from redis.exceptions import RedisError

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.health import Check, Degraded
from aistrale_common.logging import get_logger
from aistrale_router.admission.gatekeeper import StoreGatekeeper
from aistrale_router.admission.metrics import AdmissionMetrics
from aistrale_router.admission.port import Admission, AdmissionRequest, Settlement
from aistrale_router.admission.store import ManagedStore

Policy = Literal["fail_closed", "fail_open"]
STORE_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
MAX_PENDING = 100_000
BREAKER_FAILURES = 3
T = TypeVar("T")
log = get_logger(__name__)


class ResilientGatekeeper:
    def __init__(
        self,
        redis: ManagedStore,
        shared: StoreGatekeeper,
        local: StoreGatekeeper,
        *,
        policy: Policy,
        retry_s: float,
        metrics: AdmissionMetrics,
    ) -> None:
        self._shared, self._redis, self._local = shared, redis, local
        self._policy, self._retry_s, self._metrics = policy, retry_s, metrics
        self._down_until = 0.0
        self._failures = 0  # consecutive
        self._pending: deque[tuple[Admission, Settlement]] = deque(maxlen=MAX_PENDING)
        self._replay: asyncio.Task[None] | None = None

    async def admit(self, request: AdmissionRequest) -> Admission:
        if self._usable():
            try:
                decision = await self._call("admit", self._shared.decide(request))
            except STORE_ERRORS as exc:
                self._mark_down(exc)
            else:
                return self._shared.conclude(decision)
        if self._policy == "fail_closed":
            self._metrics.decisions.labels("store_unavailable", "shared").inc()
            raise ServiceUnavailable(
                "Budgets and rate limits cannot be checked right now; try again shortly.",
                headers={"Retry-After": "1"},
            )
        return await self._local.admit(request)

    async def settle(self, admission: Admission, settlement: Settlement) -> None:
        if admission.store == "local":
            await self._local.settle(admission, settlement)
            # The local hold is gone; Redis still has to learn what was spent.
            spent_only = Admission(admission.reservation_id, None, plan=admission.plan)
            self._queue(spent_only, Settlement(0, 0, settlement.cost_micro_usd))
            return
        if not self._usable():
            self._queue(admission, settlement)
            return
        try:
            await self._call("settle", self._shared.settle(admission, settlement))
        except STORE_ERRORS as exc:
            self._mark_down(exc)
            self._queue(admission, settlement)

    async def check_stream(
        self, admission: Admission, prompt_tokens: int, completion_tokens: int
    ) -> bool:
        if admission.store == "local":
            return await self._local.check_stream(admission, prompt_tokens, completion_tokens)
        try:  # in process unless the stream runs past its hold: not timed
            return await self._shared.check_stream(admission, prompt_tokens, completion_tokens)
        except STORE_ERRORS as exc:
            self._mark_down(exc)
            return self._policy == "fail_open"

    def checks(self) -> Mapping[str, Check]:
        return {"limits": self._ready}

    async def close(self) -> None:
        if self._replay is not None:
            await asyncio.gather(self._replay, return_exceptions=True)
        if self._pending:  # Redis never came back: the spend counters will undercount this
            log.warning("settlements_lost", count=len(self._pending))
        await self._redis.close()

    async def _ready(self) -> Degraded | None:
        try:
            await self._redis.ping()
        except STORE_ERRORS as exc:
            self._mark_down(exc)
            if self._policy == "fail_closed":
                raise
            return Degraded(f"redis unavailable, fail_open: per-process limits ({exc})")
        self._mark_up()
        return None

    async def _call(self, op: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        result = await call
        self._metrics.store_call(op, time.perf_counter() - started)
        self._mark_up()
        return result

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _mark_down(self, exc: BaseException) -> None:
        # One slow call (a CPU-starved process, a burst opening connections) fails only its
        # own request; a few in a row mean Redis is away: stop waiting on it for retry_s.
        self._failures += 1
        self._metrics.store_up.set(0)
        if self._failures < BREAKER_FAILURES:
            return
        if self._usable():
            log.warning("limits_store_down", error=f"{type(exc).__name__}: {exc}")
        self._down_until = time.monotonic() + self._retry_s

    def _mark_up(self) -> None:
        self._failures = 0
        self._down_until = 0.0
        self._metrics.store_up.set(1)
        if self._pending:
            self._start_replay()

    def _queue(self, admission: Admission, settlement: Settlement) -> None:
        self._pending.append((admission, settlement))
        self._metrics.pending_settlements.set(len(self._pending))
        if self._usable():
            self._start_replay()

    def _start_replay(self) -> None:
        # Off the request's path: the replay may take many round trips after an outage.
        if self._replay is None or self._replay.done():
            self._replay = asyncio.create_task(self._replay_pending())

    async def _replay_pending(self) -> None:
        while self._pending:
            admission, settlement = self._pending[0]
            try:
                await self._shared.settle(admission, settlement)
            except STORE_ERRORS as exc:
                self._mark_down(exc)
                return
            self._pending.popleft()
            self._metrics.pending_settlements.set(len(self._pending))
