"""Admission from leases, on real Redis: no round trip for a busy key, and still no budget or
rate limit passed, by one router or by two sharing the limits."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from aistrale_common.budget_counters import scope_key
from aistrale_common.budget_periods import period_label
from aistrale_common.errors import QuotaExceeded, RateLimited
from aistrale_router.admission import AdmissionRequest, Settlement, cost_micro_usd
from aistrale_router.admission.factory import build_gatekeeper
from aistrale_router.admission.gatekeeper import AdmissionConfig, StoreGatekeeper
from aistrale_router.admission.leases import LeaseConfig, LeasingStore, lease_sizes
from aistrale_router.admission.memory import MemoryStore
from aistrale_router.admission.plan import Plan
from aistrale_router.admission.redis_store import RedisStore
from aistrale_router.admission.verdict import Verdict
from aistrale_router.settings import Settings
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import FakeClock, Harness, drop_keys, key, model
from aistrale_testkit.tcp_proxy import TcpProxy

from .test_concurrency import BUDGET, ESTIMATE, Outcome, one, shapes

MODEL = model()
ORG_SCOPE = "{o1}:b:org:o1"


class CountingRedisStore(RedisStore):
    """Counts the per-request admissions that reached Redis."""

    admits = 0
    settles = 0

    async def admit(self, plan: Plan, rid: str) -> Verdict:
        self.admits += 1
        return await super().admit(plan, rid)

    async def settle(self, *args: Any, **kwargs: Any) -> None:
        self.settles += 1
        await super().settle(*args, **kwargs)


@pytest.fixture
def prefix(infra: Infra, request: pytest.FixtureRequest) -> str:
    return f"{infra.redis_prefix}lease:{request.node.name}:"


Open = Callable[[LeaseConfig], Awaitable[tuple[Harness, LeasingStore]]]


@pytest.fixture
async def routers(infra: Infra, prefix: str, clock: FakeClock) -> AsyncIterator[Open]:
    """Opens 'routers': a leasing gatekeeper each, sharing one Redis and one prefix."""
    opened: list[LeasingStore] = []

    async def open_one(config: LeaseConfig) -> tuple[Harness, LeasingStore]:
        store = LeasingStore(CountingRedisStore(infra.redis_url, timeout_s=2.0), config, clock)
        opened.append(store)
        gatekeeper = StoreGatekeeper(
            store, AdmissionConfig(prefix=prefix, min_output_tokens=16), clock, shared=True
        )
        return Harness(gatekeeper, clock, prefix), store

    yield open_one
    for store in opened:
        await store.close()
    await drop_keys(infra.redis_url, prefix)


async def held_total(infra: Infra, prefix: str) -> int:
    client: aioredis.Redis = aioredis.from_url(infra.redis_url)
    try:
        return int(await client.hget(f"{prefix}{ORG_SCOPE}:held", "_total") or 0)
    finally:
        await client.aclose()


async def leased(store: LeasingStore) -> None:
    """Waits for the refills in flight."""
    for _ in range(200):
        if all(not lease.refilling for lease in store.leases()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a lease refill never finished")


def request(**limits: int) -> AdmissionRequest:
    return AdmissionRequest(key(**limits), MODEL, ESTIMATE, 200)  # type: ignore[arg-type]


async def test_a_busy_key_is_admitted_from_its_lease_without_a_round_trip(
    routers: Open,
    infra: Infra,
    prefix: str,
) -> None:
    harness, store = await routers(LeaseConfig(divisor=64))
    inner = store.inner
    assert isinstance(inner, CountingRedisStore)
    big = request(org_budget=10**9, rpm_limit=10**6, tpm_limit=10**9)
    first = await harness.gatekeeper.admit(big)  # opens the lease; decided in Redis
    await leased(store)
    assert inner.admits == 1
    admissions = [await harness.gatekeeper.admit(big) for _ in range(100)]
    assert inner.admits == 1  # the 100 others stayed in process
    assert admissions[-1].headers["x-ratelimit-remaining-requests"] == str(10**6 - 101)
    (lease,) = store.leases()
    worst = 100 + 200 * 2
    assert await held_total(infra, prefix) == worst + lease.budget_free + lease.in_flight
    assert lease.in_flight == 100 * worst
    costs = 0
    for admission in [first, *admissions]:
        cost = cost_micro_usd(MODEL.pricing, ESTIMATE, 50)
        costs += cost
        await harness.gatekeeper.settle(admission, Settlement(ESTIMATE, 50, cost))
    spent_key = f"{scope_key(f'{prefix}{{o1}}:', 'org', 'o1')}:s:d20261118"
    assert await harness.read(spent_key) == costs  # every settlement counted once
    assert lease.in_flight == 0
    assert await held_total(infra, prefix) == lease.budget_free
    await store.close()
    assert await held_total(infra, prefix) == 0  # what was left is given back


async def test_settlements_of_one_lease_go_to_redis_as_one_call(
    routers: Open, infra: Infra, prefix: str
) -> None:
    harness, store = await routers(LeaseConfig(divisor=64))
    inner = store.inner
    assert isinstance(inner, CountingRedisStore)
    big = request(org_budget=10**9, tpm_limit=10**9)
    await harness.gatekeeper.settle(await harness.gatekeeper.admit(big), Settlement(1, 1, 3))
    await leased(store)
    admissions = [await harness.gatekeeper.admit(big) for _ in range(50)]
    before = inner.settles
    await asyncio.gather(
        *(
            harness.gatekeeper.settle(a, Settlement(ESTIMATE, i, 100 + 2 * i))
            for i, a in enumerate(admissions)
        )
    )
    assert inner.settles == before + 1
    spent_key = f"{scope_key(f'{prefix}{{o1}}:', 'org', 'o1')}:s:d20261118"
    assert await harness.read(spent_key) == 3 + sum(100 + 2 * i for i in range(50))
    (lease,) = store.leases()
    assert lease.in_flight == 0 and await held_total(infra, prefix) == lease.budget_free
    tpm_key = next(w.key for w in harness.gatekeeper.plan(big).windows)
    # The window counted the lease, then each request's correction: (i) - 200 tokens.
    assert await harness.read(tpm_key) == 1 + 1 + (256 * 300) + sum(i - 200 for i in range(50))


async def test_settlements_that_cannot_reach_redis_are_replayed_exactly_once(
    infra: Infra, prefix: str
) -> None:
    """Through the factory's gatekeeper (leases inside the Redis-down policy), with Redis
    behind a proxy that is cut while a batch of settlements is on its way."""
    port = int(infra.redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy("127.0.0.1", port).start()
    settings = Settings(budget_redis_timeout_s=1.0, budget_redis_retry_s=0.2)
    gatekeeper = build_gatekeeper(
        settings, redis_url=f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix
    )
    try:
        big = request(org_budget=10**9)
        first = await gatekeeper.admit(big)
        for _ in range(100):  # the lease: far more held than the first request's 500
            if await held_total(infra, prefix) > 10_000:
                break
            await asyncio.sleep(0.05)
        admissions = [await gatekeeper.admit(big) for _ in range(20)]
        proxy.cut()
        await asyncio.gather(
            *(gatekeeper.settle(a, Settlement(ESTIMATE, 10, 120)) for a in [first, *admissions])
        )
        assert await spent(infra, prefix) == 0  # none reached Redis: all kept for later
        proxy.restore()
        ready = gatekeeper.checks()["limits"]
        for _ in range(100):  # the readiness check finds Redis back and starts the replay
            await asyncio.sleep(0.25)
            with contextlib.suppress(Exception):
                await ready()
            if await spent(infra, prefix) == 21 * 120:
                break
        await asyncio.sleep(0.3)
        assert await spent(infra, prefix) == 21 * 120  # each one once, none lost
    finally:
        await gatekeeper.close()
        proxy.stop()
    assert await held_total(infra, prefix) == 0


async def spent(infra: Infra, prefix: str) -> int:
    client: aioredis.Redis = aioredis.from_url(infra.redis_url)
    try:
        key = f"{scope_key(f'{prefix}{{o1}}:', 'org', 'o1')}:s:{period_label('day', time.time())}"
        return int(await client.get(key) or 0)
    finally:
        await client.aclose()


async def test_two_routers_on_leases_never_pass_the_budget(
    routers: Open,
    infra: Infra,
    prefix: str,
) -> None:
    """test_concurrency's 200 requests (streams, runaways, underestimated prompts) on two
    routers whose leases hold the whole budget between them."""
    config = LeaseConfig(divisor=4, min_requests=2)  # two leases hold half the budget
    pair = [await routers(config), await routers(config)]
    rng = random.Random(5)
    warm = [
        await one(harness, shape, rng)
        for (harness, _), shape in zip(pair, shapes(1)[:2], strict=True)
    ]
    for _, store in pair:
        await leased(store)
        assert store.leases() and store.leases()[0].budget_free > 0
    batch = shapes(13)
    outcomes: list[Outcome] = warm + list(
        await asyncio.gather(*(one(pair[i % 2][0], s, rng) for i, s in enumerate(batch)))
    )
    admitted = [o for o in outcomes if o.admitted]
    spent_key = f"{scope_key(f'{prefix}{{o1}}:', 'org', 'o1')}:s:d20261118"
    spent = await pair[0][0].read(spent_key)
    assert spent == sum(o.cost for o in admitted)
    assert spent <= BUDGET + sum(o.bound for o in admitted)
    assert len(admitted) >= 8  # the leases were spent, not left idle
    for _, store in pair:
        assert all(lease.in_flight == 0 for lease in store.leases())
        await store.close()
    assert await held_total(infra, prefix) == 0


async def test_two_routers_on_leases_never_pass_a_rate_limit(
    routers: Open,
) -> None:
    config = LeaseConfig(divisor=4, min_requests=2)
    pair = [await routers(config), await routers(config)]
    limited = request(rpm_limit=64)
    results: list[bool] = []
    for i in range(160):
        harness, store = pair[i % 2]
        try:
            await harness.gatekeeper.admit(limited)
            results.append(True)
        except RateLimited:
            results.append(False)
        if i % 10 == 0:
            await leased(store)
    # Exactly the limit: each router spends its slices before it asks Redis again.
    assert sum(results) == 64


async def test_an_abandoned_lease_expires_and_its_budget_comes_back(
    routers: Open, clock: FakeClock
) -> None:
    (dead, dead_store) = await routers(LeaseConfig(divisor=2, min_requests=2, ttl_s=30))
    (alive, _) = await routers(LeaseConfig(divisor=0))
    whole = request(org_budget=10 * 500)
    admission = await dead.gatekeeper.admit(whole)  # the first is decided in Redis
    await leased(dead_store)
    await dead.gatekeeper.settle(admission, Settlement(ESTIMATE, 0, 100))
    assert dead_store.leases()[0].budget_free == 2500
    # The dead router never renews or gives back: 5000 - 100 spent - 2500 leased is left.
    before = await admitted_until_refused(alive, whole)
    assert before == 5  # 4 worst cases, then one with a lowered max_tokens
    clock.now += 31  # past the lease's deadline: Redis reclaims it on the next admission
    assert await admitted_until_refused(alive, whole) >= 4


async def admitted_until_refused(harness: Harness, req: AdmissionRequest) -> int:
    for n in range(20):
        try:
            await harness.gatekeeper.admit(req)
        except QuotaExceeded:
            return n
    raise AssertionError("never refused")


async def test_a_lease_redis_no_longer_holds_is_not_spent_from(
    routers: Open, clock: FakeClock, infra: Infra, prefix: str
) -> None:
    """Redis lost the lease (flushed, or it expired while the router stalled): the renewal
    finds out, and the router stops admitting from it."""
    harness, store = await routers(LeaseConfig(divisor=2, min_requests=2, ttl_s=60, idle_s=100))
    inner = store.inner
    assert isinstance(inner, CountingRedisStore)
    whole = request(org_budget=10 * 500)
    await harness.gatekeeper.admit(whole)
    await leased(store)
    (lease,) = store.leases()
    assert lease.budget_free == 2500
    client: aioredis.Redis = aioredis.from_url(infra.redis_url)
    try:
        await client.hdel(f"{prefix}{ORG_SCOPE}:held", lease.id)
        await client.hincrby(f"{prefix}{ORG_SCOPE}:held", "_total", -2500)
    finally:
        await client.aclose()
    clock.now += 31  # past half the lease's life: the upkeep renews it
    await store.tend()
    assert lease.budget_free == 0
    before = inner.admits
    await harness.gatekeeper.admit(whole)
    assert inner.admits == before + 1  # decided in Redis, not from the lost slice


async def test_an_idle_lease_is_given_back(
    routers: Open,
    clock: FakeClock,
    infra: Infra,
    prefix: str,
) -> None:
    harness, store = await routers(LeaseConfig(divisor=2, min_requests=2, idle_s=10))
    whole = request(org_budget=10 * 500)
    admission = await harness.gatekeeper.admit(whole)
    await leased(store)
    assert await held_total(infra, prefix) == 500 + 2500
    await harness.gatekeeper.settle(admission, Settlement(ESTIMATE, 10, 120))
    clock.now += 11
    await store.tend()
    assert await held_total(infra, prefix) == 0 and not store.leases()


def test_small_limits_are_decided_request_by_request() -> None:
    def plan_of(**limits: int) -> Plan:
        config = AdmissionConfig(prefix="p:")
        return StoreGatekeeper(MemoryStore(), config, FakeClock(), shared=True).plan(
            request(**limits)
        )

    config = LeaseConfig()
    assert lease_sizes(plan_of(rpm_limit=10), config) is None
    assert lease_sizes(plan_of(org_budget=64 * 8 * 500 - 1), config) is None
    assert lease_sizes(plan_of(rpm_limit=6400, org_budget=10**9), config) == ((100,), 256 * 500)
    assert lease_sizes(plan_of(tpm_limit=10**9), config) == ((256 * 300,), 0)
    assert lease_sizes(plan_of(), config) is None  # nothing to lease
    assert lease_sizes(plan_of(rpm_limit=10**9), LeaseConfig(divisor=0)) is None


async def test_a_returned_lease_past_its_deadline_leaves_the_scope_usable(
    routers: Open, clock: FakeClock, infra: Infra, prefix: str
) -> None:
    """A lease given back holds 0 in Redis; once its deadline passes, the next script
    reclaims it. That must not fail the script (Lua's -0 is no integer to HINCRBY)."""
    harness, store = await routers(LeaseConfig(divisor=2, min_requests=2, ttl_s=60, idle_s=10))
    whole = request(org_budget=10 * 500, rpm_limit=1000)
    admission = await harness.gatekeeper.admit(whole)
    await leased(store)
    await harness.gatekeeper.settle(admission, Settlement(ESTIMATE, 10, 120))
    clock.now += 11
    await store.tend()  # idle: given back
    assert not store.leases()
    clock.now += 120  # past the returned lease's deadline
    for _ in range(3):
        await harness.gatekeeper.settle(
            await harness.gatekeeper.admit(whole), Settlement(ESTIMATE, 10, 120)
        )
    await leased(store)
    # What Redis holds is exactly what this router's leases hold: nothing stranded.
    assert await held_total(infra, prefix) == sum(lease.held for lease in store.leases())


async def test_a_lease_on_a_free_model_past_its_deadline_leaves_the_scope_usable(
    routers: Open, clock: FakeClock
) -> None:
    """A lease on a model priced at zero holds 0 from the start."""
    harness, store = await routers(LeaseConfig(divisor=2, min_requests=2, ttl_s=60, idle_s=10))
    free = AdmissionRequest(
        key(org_budget=10**6, rpm_limit=1000), model(price_in=0, price_out=0), ESTIMATE, 200
    )
    await harness.gatekeeper.admit(free)
    await leased(store)
    clock.now += 11
    await store.tend()
    clock.now += 120
    paid = request(org_budget=10**6, rpm_limit=1000)
    for _ in range(3):
        await harness.gatekeeper.admit(paid)
        await harness.gatekeeper.admit(free)


async def test_a_lease_refused_by_a_full_window_is_an_answer_not_a_script_error(
    routers: Open,
) -> None:
    harness, store = await routers(LeaseConfig(divisor=2, min_requests=2))
    limited = request(rpm_limit=8)
    admitted = 0
    for _ in range(12):
        try:
            await harness.gatekeeper.admit(limited)
            admitted += 1
        except RateLimited:
            pass
        await leased(store)
    assert admitted == 8
    inner = store.inner
    # The lease's own refusal path ran (window nearly full) and answered without an error.
    reply = await inner.lease(
        harness.gatekeeper.plan(limited), "probe", [4], 0, int(time.time() * 1000), 0
    )
    assert not reply.granted and reply.counts == (8,)
