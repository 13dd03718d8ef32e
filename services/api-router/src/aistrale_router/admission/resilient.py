"""The declared Redis-down policy around the shared gatekeeper.

fail_closed (default): while Redis is unavailable, admissions that need it answer 503 — a
budget that cannot be checked is not spent. A key with no limit and no budget never needs
Redis, so it is served either way. fail_open: a per-process gatekeeper decides instead,
with each rate limit enforced per replica and each budget lowered to what this replica may
spend on its own (fail_open.py). Either way, settlements that cannot reach Redis are kept
and replayed when it answers again, so the spend counters catch up.

After a few failures in a row Redis is taken as down for `retry_s`: during that time
requests do not wait for Redis timeouts. A fault (Redis answering with an error on one
scope's keys, store_errors.py) is not an outage: it fails that request only, is logged and
counted, and shows in /ready, but never trips this breaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Mapping
from typing import Literal, TypeVar

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.health import Check, Degraded
from aistrale_common.logging import get_logger
from aistrale_router.admission.fail_open import LastSeen
from aistrale_router.admission.faults import RecentFaults
from aistrale_router.admission.gatekeeper import StoreGatekeeper, needs_store
from aistrale_router.admission.metrics import AdmissionMetrics
from aistrale_router.admission.plan import Plan
from aistrale_router.admission.port import Admission, AdmissionRequest, Settlement
from aistrale_router.admission.replay import SettlementQueue
from aistrale_router.admission.store import ManagedStore
from aistrale_router.admission.store_errors import StoreFault, StoreUnavailable
from aistrale_router.usage import Usage

Policy = Literal["fail_closed", "fail_open"]
BREAKER_FAILURES = 3
CLOSE_REPLAY_S = 3.0
T = TypeVar("T")
log = get_logger(__name__)


def _unavailable(reason: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Budgets and rate limits cannot be checked right now{reason}; try again shortly.",
        headers={"Retry-After": "1"},
    )


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
        seen: LastSeen,
        faults: RecentFaults,
    ) -> None:
        self._shared, self._redis, self._local = shared, redis, local
        self._policy, self._retry_s, self._metrics = policy, retry_s, metrics
        self._seen, self._faults = seen, faults
        self._down_until = 0.0
        self._failures = 0  # consecutive
        self._pending = SettlementQueue(faults)
        self._replay: asyncio.Task[None] | None = None

    async def admit(self, request: AdmissionRequest) -> Admission:
        plan = self._shared.plan(request)
        if not needs_store(plan):
            return self._shared.conclude(await self._shared.decide(plan))
        if self._usable():
            try:
                decision = await self._call("admit", self._shared.decide(plan))
            except StoreFault as exc:
                self._fault("admit", plan, exc)
                raise _unavailable(" for this organization") from None
            except StoreUnavailable as exc:
                self._mark_down(exc)
            else:
                self._seen.learn(plan, decision.verdict.used)
                return self._shared.conclude(decision)
        if self._policy == "fail_closed":
            self._metrics.decisions.labels("store_unavailable", "shared").inc()
            raise _unavailable("")
        return self._local.conclude(await self._local.decide(self._seen.fallback_plan(plan)))

    async def settle(self, admission: Admission, settlement: Settlement) -> None:
        if admission.store == "local":
            await self._local.settle(admission, settlement)
            # The local hold is gone; Redis still has to learn what was spent.
            spent_only = Admission(admission.reservation_id, None, plan=admission.plan)
            self._queue(spent_only, Settlement(Usage(), settlement.cost_micro_usd))
            return
        if not self._usable():
            self._queue(admission, settlement)
            return
        try:
            await self._call("settle", self._shared.settle(admission, settlement))
        except StoreFault as exc:
            self._fault("settle", admission.plan, exc)
            self._pending.set_aside(admission, settlement)
            self._metrics.pending_settlements.set(len(self._pending))
        except StoreUnavailable as exc:
            self._mark_down(exc)
            self._queue(admission, settlement)

    async def check_stream(
        self, admission: Admission, prompt_tokens: int, completion_tokens: int
    ) -> bool:
        if admission.store == "local":
            return await self._local.check_stream(admission, prompt_tokens, completion_tokens)
        try:  # in process unless the stream runs past its hold: not timed
            return await self._shared.check_stream(admission, prompt_tokens, completion_tokens)
        except StoreFault as exc:  # a budget that cannot be checked is not spent
            self._fault("extend", admission.plan, exc)
            raise _unavailable(" for this organization") from None
        except StoreUnavailable as exc:
            self._mark_down(exc)
            if self._policy == "fail_open":
                return True
            # The stream ends with this error event, not with "the budget ran out": it may
            # not have run out at all.
            raise _unavailable("") from None

    def checks(self) -> Mapping[str, Check]:
        return {"limits": self._ready}

    async def close(self) -> None:
        if self._replay is not None:
            await asyncio.gather(self._replay, return_exceptions=True)
        if self._pending:  # a last try: Redis may be back without anyone having asked it
            with contextlib.suppress(StoreUnavailable, TimeoutError):
                await asyncio.wait_for(self._pending.replay(self._shared.settle), CLOSE_REPLAY_S)
        if self._pending:  # Redis never came back: the spend counters will undercount this
            log.error("settlements_lost", count=len(self._pending))
            self._metrics.settlements_lost.inc(len(self._pending))
        await self._redis.close()

    async def _ready(self) -> Degraded | None:
        try:
            await self._redis.ping()
        except StoreUnavailable as exc:
            self._mark_down(exc)
            if self._policy == "fail_closed":
                raise
            return Degraded(f"redis unavailable, fail_open: per-process limits ({exc})")
        self._mark_up()
        faults = self._faults.describe()
        return Degraded(faults) if faults else None

    async def _call(self, op: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            result = await call
        except StoreFault:
            self._mark_up()  # Redis answered: it is up, whatever it said
            raise
        self._metrics.store_call(op, time.perf_counter() - started)
        self._mark_up()
        return result

    def _fault(self, op: str, plan: Plan | None, exc: StoreFault) -> None:
        self._faults.note(op, plan.org_id if plan is not None else "", exc)

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _mark_down(self, exc: StoreUnavailable) -> None:
        # One slow call (a CPU-starved process, a burst opening connections) fails only its
        # own request; a few in a row mean Redis is away: stop waiting on it for retry_s.
        self._failures += 1
        self._metrics.store_up.set(0)
        if self._failures < BREAKER_FAILURES:
            return
        if self._usable():
            log.warning("limits_store_down", error=str(exc))
        self._down_until = time.monotonic() + self._retry_s

    def _mark_up(self) -> None:
        self._failures = 0
        self._down_until = 0.0
        self._metrics.store_up.set(1)
        if self._pending.due():
            self._start_replay()

    def _queue(self, admission: Admission, settlement: Settlement) -> None:
        self._pending.put(admission, settlement)
        self._metrics.pending_settlements.set(len(self._pending))
        if self._usable():
            self._start_replay()

    def _start_replay(self) -> None:
        # Off the request's path: the replay may take many round trips after an outage.
        if self._replay is None or self._replay.done():
            self._replay = asyncio.create_task(self._replay_pending())

    async def _replay_pending(self) -> None:
        try:
            await self._pending.replay(self._shared.settle)
        except StoreUnavailable as exc:
            self._mark_down(exc)
        self._metrics.pending_settlements.set(len(self._pending))
