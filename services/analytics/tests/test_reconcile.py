"""Reconciliation against real Redis, with the router's counter layout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.reconcile.counters import RedisSpendCounters
from aistrale_analytics.reconcile.service import ReconcileMetrics, Reconciler
from aistrale_common.budget_counters import floor_key, spend_key
from aistrale_common.db import Database
from aistrale_common.metrics import ServiceMetrics
from aistrale_testkit.analytics.factories import usage_event
from aistrale_testkit.fixtures import Infra


async def counter(redis: Redis, key: str) -> int:
    """What the budget sees: the routers' counter or the floor reconciliation set."""
    values = [int(v or 0) for v in await redis.mget([key, floor_key(key)])]
    assert any(values), key
    return max(values)


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{infra.redis_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_undercounted_spend_is_raised_and_drift_is_measured(
    infra: Infra, pg_db: Database, redis: Redis
) -> None:
    prefix = f"{infra.redis_prefix}reconcile:"
    now = datetime.now(UTC)
    org = "org-rec"
    await UsageStore(pg_db).ingest([
        usage_event(org, key_id="k1", occurred_at=now, cost_micro_usd=1_000),
        usage_event(org, key_id="k2", occurred_at=now, cost_micro_usd=2_000),
        usage_event(org, key_id="k2", occurred_at=now - timedelta(days=40), cost_micro_usd=500),
    ])  # fmt: skip
    day, month = now.strftime("d%Y%m%d"), now.strftime("m%Y%m")
    org_day = spend_key(prefix, org, "org", org, day)
    k2_day = spend_key(prefix, org, "key", "k2", day)
    k1_day = spend_key(prefix, org, "key", "k1", day)
    await redis.set(org_day, 2_400)  # a settlement was lost: 600 short
    await redis.set(k2_day, 2_300)  # ahead of the ledger (an event still in an outbox)
    await redis.set(k1_day, 1_000)  # exact
    metrics = ServiceMetrics("analytics")
    reconcile_metrics = ReconcileMetrics(metrics)
    reconciler = Reconciler(pg_db, RedisSpendCounters(redis), prefix, reconcile_metrics)

    drifts = {(d.period, d.key): d.delta for d in await reconciler.run_once(now)}
    assert drifts[("day", org_day)] == -600
    assert drifts[("day", k2_day)] == 300
    assert drifts[("day", k1_day)] == 0

    assert await counter(redis, org_day) == 3_000  # raised to the ledger
    assert int(await redis.get(org_day) or 0) == 2_400  # the routers' own counter: as it was
    assert await counter(redis, k2_day) == 2_300  # never lowered
    org_month = spend_key(prefix, org, "org", org, month)
    assert await counter(redis, org_month) == 3_000  # created from the ledger...
    assert 0 < await redis.ttl(floor_key(org_month)) <= 63 * 86_400  # ...and still expires
    assert await counter(redis, spend_key(prefix, org, "org", org, "t")) == 3_500
    rendered = metrics.render().decode()
    assert (
        'aistrale_analytics_budget_drift_micro_usd{direction="redis_ahead",period="day",'
        'scope="key"} 300.0' in rendered
    )
    # Idempotent: a second run (or another replica) adds nothing.
    again = await reconciler.run_once(now)
    assert all(d.delta >= 0 for d in again)
    assert await counter(redis, org_day) == 3_000


async def test_a_settlement_replayed_after_reconciliation_is_not_counted_twice(
    infra: Infra, pg_db: Database, redis: Redis
) -> None:
    """Redis was away from a router: its settlement waited in memory while the event reached
    analytics, and reconciliation ran first. The replay must not make the spend double."""
    prefix = f"{infra.redis_prefix}replay:"
    now = datetime.now(UTC)
    org = "org-replay"
    await UsageStore(pg_db).ingest(
        [usage_event(org, key_id="k1", occurred_at=now, cost_micro_usd=700)]
    )
    reconciler = Reconciler(
        pg_db, RedisSpendCounters(redis), prefix, ReconcileMetrics(ServiceMetrics("analytics"))
    )
    await reconciler.run_once(now)
    total = spend_key(prefix, org, "org", org, "t")
    assert await counter(redis, total) == 700
    await redis.incrby(total, 700)  # the router's replayed settlement
    assert await counter(redis, total) == 700
