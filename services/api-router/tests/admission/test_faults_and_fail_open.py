"""What Redis trouble may and may not do, on real Redis behind a proxy that is cut:

- a fault on one org's keys (Redis answering with an error) fails that org's requests only,
  shows in metrics and /ready, and never takes the store down for the other orgs;
- fail_closed never refuses a key that needs no Redis;
- fail_open spends at most what a replica may spend on its own (docs/budgets.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis

from aistrale_common.budget_counters import floor_key, scope_key
from aistrale_common.errors import QuotaExceeded, ServiceUnavailable
from aistrale_common.health import run_checks
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.admission import AdmissionRequest, ManagedGatekeeper, Settlement
from aistrale_router.admission import build_gatekeeper as build
from aistrale_router.keys.record import BudgetRule, KeyRecord
from aistrale_router.settings import Settings
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import FakeClock, drop_keys, key, model
from aistrale_testkit.tcp_proxy import TcpProxy, tcp_proxy

MODEL = model()  # 1 and 2 micro-USD per token: prompt 100 + 200 out = 500 worst case
WORST = 500


@pytest.fixture
def proxy(infra: Infra) -> Iterator[TcpProxy]:
    target = urlsplit(infra.redis_url)
    with tcp_proxy(target.hostname or "127.0.0.1", target.port or 6379) as running:
        yield running


@pytest.fixture
def prefix(infra: Infra, request: pytest.FixtureRequest) -> str:
    return f"{infra.redis_prefix}faults:{request.node.name}:"


@pytest.fixture
async def redis(infra: Infra, prefix: str) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.from_url(infra.redis_url)
    yield client
    await client.aclose()
    await drop_keys(infra.redis_url, prefix)


def open_gatekeeper(
    proxy: TcpProxy, prefix: str, metrics: ServiceMetrics, policy: str, share: float = 0.05
) -> ManagedGatekeeper:
    settings = Settings(
        budget_redis_down_policy=policy,
        budget_redis_timeout_s=0.5,
        budget_redis_retry_s=0.2,
        budget_fail_open_share=share,
        budget_lease_divisor=0,  # every admission asks Redis: what these tests are about
    )
    url = f"redis://127.0.0.1:{proxy.port}/0"
    return build(settings, redis_url=url, prefix=prefix, metrics=metrics, clock=FakeClock())


def org_key(org: str, budget: int) -> KeyRecord:
    rule = BudgetRule(scope="org", scope_id=org, limit_micro_usd=budget, period="day")
    return KeyRecord(key_id=f"k-{org}", org_id=org, status="active", budgets=[rule])


def ask(record: KeyRecord) -> AdmissionRequest:
    return AdmissionRequest(record, MODEL, 100, 200)


def sample(metrics: ServiceMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(f"aistrale_api_router_{name}", labels or None)
    return value or 0.0


def held_key(prefix: str, org: str) -> str:
    return f"{scope_key(f'{prefix}{{{org}}}:', 'org', org)}:held"


def spent_key(prefix: str, org: str) -> str:
    return f"{scope_key(f'{prefix}{{{org}}}:', 'org', org)}:s:d20261118"


@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
async def test_a_fault_on_one_org_leaves_every_other_org_served(
    proxy: TcpProxy, prefix: str, redis: aioredis.Redis, policy: str
) -> None:
    metrics = ServiceMetrics("api-router")
    gk = open_gatekeeper(proxy, prefix, metrics, policy)
    poisoned, bystander = org_key("o-bad", 10**6), org_key("o-good", 10**6)
    try:
        await redis.set(held_key(prefix, "o-bad"), "not a hash")  # every script fails on it
        for _ in range(10):  # far past the breaker's three failures in a row
            with pytest.raises(ServiceUnavailable) as refused:
                await gk.admit(ask(poisoned))
            assert "for this organization" in refused.value.message
            admitted = await gk.admit(ask(bystander))
            await gk.settle(admitted, Settlement(100, 10, 120))
        assert sample(metrics, "admission_store_faults_total", op="admit") == 10
        assert sample(metrics, "admission_store_up") == 1
        # fail_open did not hand the poisoned org to the per-process fallback either.
        assert sample(metrics, "admission_decisions_total", outcome="admitted", store="local") == 0
        ready, results = await run_checks(gk.checks(), metrics)
        assert ready and results["limits"].startswith("degraded: 10 limits-store faults")
    finally:
        await gk.close()
    assert int(await redis.get(spent_key(prefix, "o-good")) or 0) == 10 * 120


async def test_a_settlement_redis_faults_on_waits_aside_and_does_not_hold_up_others(
    proxy: TcpProxy, prefix: str, redis: aioredis.Redis
) -> None:
    metrics = ServiceMetrics("api-router")
    gk = open_gatekeeper(proxy, prefix, metrics, "fail_closed")
    bad, good = org_key("o-bad", 10**6), org_key("o-good", 10**6)
    try:
        stuck = await gk.admit(ask(bad))
        await redis.set(held_key(prefix, "o-bad"), "not a hash")
        await gk.settle(stuck, Settlement(100, 10, 120))  # faults: set aside, no raise
        assert sample(metrics, "admission_store_faults_total", op="settle") == 1
        for _ in range(5):
            await gk.settle(await gk.admit(ask(good)), Settlement(100, 10, 120))
        assert int(await redis.get(spent_key(prefix, "o-good")) or 0) == 5 * 120
        await redis.delete(held_key(prefix, "o-bad"))  # the scope mends
        await asyncio.sleep(1.1)  # past the first retry delay
        await gk.settle(await gk.admit(ask(good)), Settlement(100, 10, 120))  # a trigger
        for _ in range(100):
            if int(await redis.get(spent_key(prefix, "o-bad")) or 0) == 120:
                break
            await asyncio.sleep(0.02)
        assert int(await redis.get(spent_key(prefix, "o-bad")) or 0) == 120
    finally:
        await gk.close()


async def test_fail_closed_serves_keys_that_need_no_redis(
    proxy: TcpProxy, prefix: str, redis: aioredis.Redis
) -> None:
    metrics = ServiceMetrics("api-router")
    gk = open_gatekeeper(proxy, prefix, metrics, "fail_closed")
    unlimited = key(key_id="free")  # no rate limit, no budget
    try:
        proxy.cut()
        with pytest.raises(ServiceUnavailable):
            await gk.admit(ask(org_key("o1", 10**6)))  # this one needs Redis
        admissions = [await gk.admit(ask(unlimited)) for _ in range(20)]
        for admission in admissions:
            await gk.settle(admission, Settlement(100, 10, 120))  # kept for Redis
        proxy.restore()
        for _ in range(100):  # the readiness check finds Redis back and replays
            await asyncio.sleep(0.05)
            await run_checks(gk.checks(), metrics)
            if int(await redis.get(spent_key(prefix, "o1")) or 0) == 20 * 120:
                break
        assert int(await redis.get(spent_key(prefix, "o1")) or 0) == 20 * 120
    finally:
        await gk.close()


async def test_fail_open_does_not_spend_a_budget_it_saw_spent(
    proxy: TcpProxy, prefix: str, redis: aioredis.Redis
) -> None:
    metrics = ServiceMetrics("api-router")
    gk = open_gatekeeper(proxy, prefix, metrics, "fail_open", share=1.0)
    small = org_key("o1", 2 * WORST)
    try:
        for _ in range(2):
            await gk.settle(await gk.admit(ask(small)), Settlement(100, 200, WORST))
        with pytest.raises(QuotaExceeded):
            await gk.admit(ask(small))  # refused by Redis: the router saw it spent
        proxy.cut()
        for _ in range(5):
            with pytest.raises(QuotaExceeded):
                await gk.admit(ask(small))  # ...and the fallback does not pay it again
        assert sample(metrics, "admission_decisions_total", outcome="admitted", store="local") == 0
    finally:
        await gk.close()


async def test_fail_open_opens_a_budget_it_never_saw_for_its_share_only(
    proxy: TcpProxy, prefix: str, redis: aioredis.Redis
) -> None:
    """A replica that starts while Redis is away: each start may spend share x limit."""
    limit, share = 100 * WORST, 0.1  # the fallback may spend 10 worst cases per start
    spent_by_fallback = []
    for _ in range(2):  # two starts of "the same replica"
        metrics = ServiceMetrics("api-router")
        gk = open_gatekeeper(proxy, prefix, metrics, "fail_open", share=share)
        proxy.cut()
        cost = 0
        try:
            for _ in range(30):
                try:
                    admission = await gk.admit(ask(org_key("o1", limit)))
                except QuotaExceeded:
                    continue
                await gk.settle(admission, Settlement(100, 200, WORST))
                cost += WORST
        finally:
            proxy.restore()
            await gk.close()
        spent_by_fallback.append(cost)
    assert spent_by_fallback == [share * limit, share * limit]
    # What the fallbacks spent reached Redis when each shut down: the counters are exact.
    assert int(await redis.get(spent_key(prefix, "o1")) or 0) == sum(spent_by_fallback)


async def test_the_floor_reconciliation_writes_counts_as_spend(
    proxy: TcpProxy, prefix: str, redis: aioredis.Redis
) -> None:
    """Analytics raises `<counter>:floor` when the counter lost a settlement; admissions
    see the larger of the two, so the lost spend counts and a replay is not counted twice."""
    metrics = ServiceMetrics("api-router")
    gk = open_gatekeeper(proxy, prefix, metrics, "fail_closed")
    record = org_key("o1", 3 * WORST)
    try:
        await redis.set(floor_key(spent_key(prefix, "o1")), 2 * WORST)
        await gk.admit(ask(record))  # the last worst case the budget pays
        with pytest.raises(QuotaExceeded):
            await gk.admit(ask(record))
    finally:
        await gk.close()


async def test_a_stream_past_its_hold_with_redis_away_is_not_told_its_budget_ran_out(
    proxy: TcpProxy, prefix: str, redis: aioredis.Redis
) -> None:
    metrics = ServiceMetrics("api-router")
    gk = open_gatekeeper(proxy, prefix, metrics, "fail_closed")
    try:
        admission = await gk.admit(ask(org_key("o1", 10**6)))
        assert await gk.check_stream(admission, 100, 200)  # within its hold: no Redis needed
        proxy.cut()
        with pytest.raises(ServiceUnavailable):  # "cannot be checked", not "ran out"
            await gk.check_stream(admission, 100, 260)
    finally:
        proxy.restore()
        await gk.close()
