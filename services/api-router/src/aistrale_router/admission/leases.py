"""Admission from leases: most requests of a busy key are decided in process, with no Redis
round trip, and still no budget or rate limit can be overrun (docs/decisions/
router-admission-leases.md).

A lease is taken in Redis like a reservation (the LEASE script): a slice of each rate window
of the key's plan is counted, and a slice of every budget line is held under the lease's id
with a deadline. Requests of that key are then admitted against the slice in process. A
request's settlement adds its cost to the spend counters and takes its part out of the
lease's hold in one script, so `spent + held` in Redis never drops below what is owed.
Whatever a lease cannot pay for in full goes to Redis as before (partial grants, refusals,
the last slices of a budget), so the edge of every limit is still decided exactly.

A lease is 1/`divisor` of each limit and at most LEASE_REQUESTS requests like the one that
opened it; a limit too small for `min_requests` of them is never leased. It is refilled in the
background when half used, renewed while it holds anything, and what it still holds is given
back after `idle_s` without use. A router that dies leaves it to expire at its deadline, as
its reservations do.

The settlements of one lease that arrive in the same event-loop turn (the metering hands
them over together) go to Redis as one SETTLE call: their costs, token corrections and parts
of the hold summed, since they touch the same counters.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from aistrale_common.clock import Clock
from aistrale_common.logging import get_logger
from aistrale_common.tasks import every, stop_task
from aistrale_router.admission.fail_open import LastSeen
from aistrale_router.admission.faults import RecentFaults
from aistrale_router.admission.metrics import AdmissionMetrics
from aistrale_router.admission.plan import Plan
from aistrale_router.admission.redis_store import LeaseReply, RedisStore
from aistrale_router.admission.store_errors import StoreFault, StoreUnavailable
from aistrale_router.admission.verdict import ADMITTED, Verdict

LEASE_REQUESTS = 256  # a lease pays for at most this many requests like the first one
RETRY_S = 1.0  # after a refused or failed refill
FAULT_RETRY_S = 30.0  # after a refill Redis answered with an error (a bug: log, don't spin)
# A lease this close to its deadline is not spent from: Redis may reclaim it any moment.
MARGIN_MS = 2_000
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    divisor: int = 64  # 0: no leases
    ttl_s: float = 60.0
    idle_s: float = 10.0
    # A limit whose 1/divisor pays for fewer requests is decided request by request.
    min_requests: int = 8


@dataclass(eq=False, slots=True)
class SettleBatch:
    plan: Plan
    tpm_keys: list[str]
    done: asyncio.Future[None]
    parts: list[tuple[str, int]] = field(default_factory=list)  # request id, micro-USD
    token_delta: int = 0
    cost: int = 0

    @property
    def release(self) -> int:
        return sum(part for _, part in self.parts)


@dataclass(eq=False, slots=True)
class Lease:
    id: str
    plan: Plan  # the one it was opened for: its keys and limits
    sizes: tuple[int, ...]  # per window: one refill
    budget_size: int  # micro-USD per refill
    free: list[int]  # per window: counted in Redis, not yet given to a request
    counts: list[int]  # each window's count in Redis at the last refill
    budget_free: int = 0  # held in Redis, not yet given to a request
    in_flight: int = 0  # held in Redis, given to requests not settled yet
    deadline_ms: int = 0
    used_at: float = 0.0
    retry_at: float = 0.0
    refilling: bool = False
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    batch: SettleBatch | None = None  # settlements gathering in this turn

    @property
    def held(self) -> int:
        """What this lease holds in Redis, as the router counts it."""
        return self.budget_free + self.in_flight


def lease_sizes(plan: Plan, config: LeaseConfig) -> tuple[tuple[int, ...], int] | None:
    """One refill per window and of the budget, or None: this plan is not leased."""
    divisor, least = config.divisor, config.min_requests
    if divisor <= 0:
        return None
    sizes = []
    tokens = plan.worst_tokens
    for window in plan.windows:
        per = 1 if window.kind == "requests" else tokens
        size = min(window.limit // divisor, per * LEASE_REQUESTS)
        if size < per * least:
            return None
        sizes.append(size)
    budget = 0
    if plan.lines and plan.priced:
        per = plan.worst_cost()
        budget = min(min(line.limit for line in plan.lines) // divisor, per * LEASE_REQUESTS)
        if budget < per * least:
            return None
    if not sizes and not budget:
        return None  # nothing to lease: no round trip is made for such a plan anyway
    return tuple(sizes), budget


class LeasingStore:
    """The Store port over `RedisStore`, admitting from leases where it can."""

    def __init__(
        self,
        inner: RedisStore,
        config: LeaseConfig,
        clock: Clock,
        metrics: AdmissionMetrics | None = None,
        seen: LastSeen | None = None,
        faults: RecentFaults | None = None,
    ) -> None:
        self.inner = inner
        self._seen = seen
        self._faults = faults or RecentFaults(metrics)
        self._config = config
        self._clock = clock
        self._metrics = metrics
        self._leases: dict[tuple[object, ...], Lease] = {}  # by Plan.shape
        self._held: dict[str, tuple[Lease, int]] = {}  # request id -> its lease, micro-USD
        self._extended: set[str] = set()  # leased requests that also hold under their own id
        self._sending: set[asyncio.Task[None]] = set()
        self._upkeep: asyncio.Task[None] | None = None

    async def admit(self, plan: Plan, rid: str) -> Verdict:
        verdict = self._admit_locally(plan, rid)
        if verdict is not None:
            return verdict
        return await self.inner.admit(plan, rid)

    async def settle(
        self, plan: Plan, rid: str, token_delta: int, cost: int, tpm_keys: list[str]
    ) -> None:
        entry = self._held.get(rid)
        if entry is None:
            await self.inner.settle(plan, rid, token_delta, cost, tpm_keys)
            return
        lease, part = entry
        if rid in self._extended:  # it holds more under its own id: settled on its own
            await self.inner.settle(
                plan, rid, token_delta, cost, tpm_keys, lease=lease.id, release=part
            )
            self._extended.discard(rid)
            self._release(lease, rid, part)
            return
        batch = lease.batch
        if batch is None:
            batch = SettleBatch(plan, tpm_keys, asyncio.get_running_loop().create_future())
            lease.batch = batch
            asyncio.get_running_loop().call_soon(self._send_batch, lease)
        batch.parts.append((rid, part))
        batch.token_delta += token_delta
        batch.cost += cost
        await asyncio.shield(batch.done)

    async def extend(
        self, plan: Plan, rid: str, need: int, extra: int, now_ms: int, deadline_ms: int
    ) -> int:
        if rid in self._held:
            self._extended.add(rid)
        return await self.inner.extend(plan, rid, need, extra, now_ms, deadline_ms)

    async def read(self, key: str, now_ms: int) -> int:
        return await self.inner.read(key, now_ms)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        if self._upkeep is not None:
            await stop_task(self._upkeep)
        await asyncio.gather(*self._sending, return_exceptions=True)
        for lease in list(self._leases.values()):
            await asyncio.gather(*lease.pending, return_exceptions=True)
        try:
            await asyncio.wait_for(self._give_back_all(), timeout=2.0)
        except TimeoutError:
            log.warning("leases_not_returned", count=len(self._leases))  # they expire
        await self.inner.close()

    def leases(self) -> list[Lease]:
        """The open leases (for tests and the upkeep)."""
        return list(self._leases.values())

    def _send_batch(self, lease: Lease) -> None:
        batch, lease.batch = lease.batch, None
        if batch is not None:
            task = asyncio.create_task(self._settle_batch(lease, batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _settle_batch(self, lease: Lease, batch: SettleBatch) -> None:
        try:
            await self.inner.settle(
                batch.plan,
                "",
                batch.token_delta,
                batch.cost,
                batch.tpm_keys,
                lease=lease.id,
                release=batch.release,
            )
        except asyncio.CancelledError:
            batch.done.cancel()
            raise
        except Exception as exc:  # each waiter gets it: the settlements are replayed alone
            batch.done.set_exception(exc)
            batch.done.exception()  # retrieved here too: waiters may have been cancelled
            return
        for rid, part in batch.parts:
            self._release(lease, rid, part)
        batch.done.set_result(None)

    def _release(self, lease: Lease, rid: str, part: int) -> None:
        if self._held.pop(rid, None) is not None:  # a replayed settle may have raced it
            lease.in_flight -= part

    def _admit_locally(self, plan: Plan, rid: str) -> Verdict | None:
        lease = self._leases.get(plan.shape)
        if lease is None:
            self._open(plan)
            return None
        if lease.budget_free and plan.now_ms >= lease.deadline_ms - MARGIN_MS:
            lease.budget_free = 0  # no longer surely held in Redis (renewals failed)
        cost = plan.worst_cost() if lease.budget_size else 0
        tokens = plan.worst_tokens
        needs = [1 if w.kind == "requests" else tokens for w in plan.windows]
        free = lease.free
        if lease.budget_free < cost or any(n > f for n, f in zip(needs, free, strict=True)):
            self._refill(lease)
            return None
        for i, need in enumerate(needs):
            free[i] -= need
        lease.budget_free -= cost
        if cost:
            lease.in_flight += cost
            self._held[rid] = (lease, cost)
        lease.used_at = plan.now_ms / 1000
        if lease.budget_free * 2 < lease.budget_size or any(
            f * 2 < s for f, s in zip(free, lease.sizes, strict=True)
        ):
            self._refill(lease)
        counts = tuple(c - f for c, f in zip(lease.counts, free, strict=True))
        if self._metrics is not None:
            self._metrics.lease_admissions.inc()
        return Verdict(ADMITTED, plan.want, cost, 0, counts)

    def _open(self, plan: Plan) -> None:
        sizes = lease_sizes(plan, self._config)
        if sizes is None:
            return
        windows, budget = sizes
        n = len(windows)
        lease = Lease(os.urandom(8).hex(), plan, windows, budget, [0] * n, [0] * n)
        lease.used_at = self._clock()
        self._leases[plan.shape] = lease
        if self._upkeep is None:
            interval = min(self._config.ttl_s / 3, self._config.idle_s / 2)
            self._upkeep = asyncio.create_task(
                every(interval, self.tend, failure_event="lease_upkeep_failed")
            )
        self._refill(lease)

    def _refill(self, lease: Lease) -> None:
        if lease.refilling or self._clock() < lease.retry_at:
            return
        lease.refilling = True
        task = asyncio.create_task(self._take(lease))
        lease.pending.add(task)
        task.add_done_callback(lease.pending.discard)

    async def _take(self, lease: Lease) -> None:
        try:
            wants = [s if f * 2 < s else 0 for f, s in zip(lease.free, lease.sizes, strict=True)]
            amount = lease.budget_size if lease.budget_free * 2 < lease.budget_size else 0
            now_ms = int(self._clock() * 1000)
            deadline_ms = now_ms + int(self._config.ttl_s * 1000)
            reply = await self.inner.lease(lease.plan, lease.id, wants, amount, now_ms, deadline_ms)
            self._learn(lease, reply)
            if not reply.granted:
                lease.retry_at = self._clock() + RETRY_S
                return
            for i, want in enumerate(wants):
                lease.free[i] += want
            lease.counts = list(reply.counts)
            lease.budget_free += amount
            lease.deadline_ms = deadline_ms
        except StoreUnavailable as exc:
            lease.retry_at = self._clock() + RETRY_S
            log.info("lease_refill_failed", error=str(exc))
        except StoreFault as exc:
            lease.retry_at = self._clock() + FAULT_RETRY_S
            self._faults.note("lease", lease.plan.org_id, exc)
        finally:
            lease.refilling = False

    def _learn(self, lease: Lease, reply: LeaseReply) -> None:
        self._check_held(lease, reply.held)
        if self._seen is not None:
            self._seen.learn(lease.plan, reply.used)

    async def tend(self) -> None:
        """Gives back what idle leases hold, renews the others before they expire."""
        now = self._clock()
        for shape, lease in list(self._leases.items()):
            try:
                if not await self._tend_one(lease, now):
                    del self._leases[shape]
            except StoreUnavailable as exc:  # the next round tries again; the deadline is far
                log.info("lease_upkeep_failed", lease=lease.id, error=str(exc))
            except StoreFault as exc:
                self._faults.note("lease_upkeep", lease.plan.org_id, exc)
        if self._metrics is not None:
            self._metrics.leased.set(sum(lease.held for lease in self.leases()))

    async def _tend_one(self, lease: Lease, now: float) -> bool:
        """False: the lease is done with."""
        if now - lease.used_at >= self._config.idle_s:
            if lease.budget_free:
                await self._give_back(lease)
            if not lease.in_flight and not lease.refilling:
                return False
        now_ms = int(now * 1000)
        if lease.held and lease.deadline_ms - now_ms < self._config.ttl_s * 500:
            deadline_ms = now_ms + int(self._config.ttl_s * 1000)
            zeros = [0] * len(lease.sizes)
            reply = await self.inner.lease(lease.plan, lease.id, zeros, 0, now_ms, deadline_ms)
            lease.deadline_ms = deadline_ms
            self._learn(lease, reply)
        return True

    def _check_held(self, lease: Lease, held: int) -> None:
        """Redis holds less than this lease thinks (it expired while its router stalled, or
        Redis lost it): only what Redis still holds may be spent from it."""
        if lease.budget_size and held < lease.held:
            log.warning("lease_lost", lease=lease.id, held=held, expected=lease.held)
            lease.budget_free = max(0, held - lease.in_flight)

    async def _give_back(self, lease: Lease) -> None:
        # Not spent from again even if the call fails: it may have landed with its reply
        # lost, and a hold Redis still has is only parked until the lease's deadline.
        amount, lease.budget_free = lease.budget_free, 0
        await self.inner.settle(lease.plan, "", 0, 0, [], lease=lease.id, release=amount)

    async def _give_back_all(self) -> None:
        for lease in self._leases.values():
            if lease.budget_free:
                try:
                    await self._give_back(lease)
                except (StoreUnavailable, StoreFault) as exc:
                    log.info("lease_not_returned", lease=lease.id, error=str(exc))
