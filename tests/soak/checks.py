"""What the soak reads back after the load: analytics' totals per org, the Redis spend
counters, the usage queues' depth, the services' memory."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aio_pika
import httpx
import redis.asyncio as aioredis

from aistrale_common.budget_counters import floor_key

from .load import Record
from .platform import Platform
from .tenants import Admin, Key


@dataclass(frozen=True)
class OrgTotals:
    requests: int
    errors: int
    cost: int

    @property
    def successes(self) -> int:
        return self.requests - self.errors


@dataclass(frozen=True)
class ClientTotals:
    requests: int  # answered by the router (not refused at the TCP level)
    ok: int
    cost: int


def client_totals(record: Record, org_id: str) -> ClientTotals:
    seen = [o for o in record.per_org(org_id) if o.code != "transport"]
    return ClientTotals(len(seen), sum(o.ok for o in seen), sum(o.cost for o in seen))


def analytics_totals(platform: Platform, admin: Admin, org_id: str) -> OrgTotals:
    path = f"/analytics/v1/orgs/{org_id}/usage/summary"
    answer = httpx.get(
        platform.analytics.url + path,
        params={"period": "total"},
        headers={"authorization": f"Bearer {admin.token()}"},
        timeout=30,
    )
    answer.raise_for_status()
    totals = answer.json()["totals"]
    return OrgTotals(totals["requests"], totals["errors"], totals["cost_micro_usd"])


async def redis_spend(
    infra_redis_url: str, platform: Platform, org_id: str, *, effective: bool = False
) -> int:
    """The org's all-time spend counter as the routers settled it; `effective`: as budgets
    see it, with the floor reconciliation may have raised it to."""
    key = f"{platform.redis_prefix}{{{org_id}}}:b:org:{org_id}:s:t"
    client: aioredis.Redis = aioredis.from_url(infra_redis_url)
    try:
        values = await client.mget([key, floor_key(key)])
    finally:
        await client.aclose()
    counted, floor = (int(v or 0) for v in values)
    return max(counted, floor) if effective else counted


async def held(infra_redis_url: str, platform: Platform, org_id: str) -> int:
    key = f"{platform.redis_prefix}{{{org_id}}}:b:org:{org_id}:held"
    client: aioredis.Redis = aioredis.from_url(infra_redis_url)
    try:
        return int(await client.hget(key, "_total") or 0)
    finally:
        await client.aclose()


async def queue_depths(amqp_url: str, queues: list[str]) -> dict[str, int]:
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        depths = {}
        for name in queues:
            queue = await channel.declare_queue(name, passive=True)
            depths[name] = int(queue.declaration_result.message_count or 0)
        return depths


async def drained(amqp_url: str, platform: Platform, within_s: float) -> float:
    """Seconds until the router's outbox and every usage queue are empty; fails past
    `within_s`."""
    started = time.monotonic()
    while True:
        depths = await queue_depths(amqp_url, platform.usage_queues())
        depths["router outbox"] = int(
            metric(router_metrics(platform), "aistrale_api_router_usage_outbox_events")
        )
        if not any(depths.values()):
            return time.monotonic() - started
        assert time.monotonic() - started < within_s, f"consumers behind: {depths}"
        await asyncio.sleep(0.2)


def counted_by_analytics(
    platform: Platform, admin: Admin, record: Record, keys: list[Key], within_s: float
) -> dict[str, tuple[OrgTotals, ClientTotals]]:
    """Per org, once analytics has every request the clients saw answered (or the time is
    up): analytics' totals and the clients'."""
    orgs = sorted({k.org_id for k in keys})
    deadline = time.monotonic() + within_s
    while True:
        both = {o: (analytics_totals(platform, admin, o), client_totals(record, o)) for o in orgs}
        if all(a.requests >= c.requests for a, c in both.values()):
            return both
        if time.monotonic() > deadline:
            return both
        time.sleep(0.5)


def metric(text: str, name: str) -> float:
    """Sum of every sample of `name` (any labels) in a Prometheus text exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def router_metrics(platform: Platform) -> str:
    return httpx.get(platform.router.url + "/metrics", timeout=10).text


class MemorySamples:
    """Each service's RSS once a second while the measured load runs. A leak keeps growing
    through the second half; a high-water mark (a consumer's backlog on a loaded machine,
    pages the allocator keeps) rises once and stays."""

    SECOND_HALF_GROWTH = 0.05  # of the RSS after warm-up
    HIGH_WATER = 0.25

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self.series: dict[str, list[int]] = {name: [] for name in platform.services}

    async def run(self) -> None:
        while True:
            for name, service in self._platform.services.items():
                self.series[name].append(service.rss_bytes())
            await asyncio.sleep(1.0)

    def growing(self) -> list[tuple[str, list[float]]]:
        """The services whose memory does not stay flat, with their series in MB."""
        found = []
        for name, series in self.series.items():
            half = len(series) // 2
            warm, early, late = series[0], max(series[:half]), max(series[half:])
            leaking = late > early + warm * self.SECOND_HALF_GROWTH
            if leaking or late > warm * (1 + self.HIGH_WATER):
                found.append((name, [round(x / 2**20, 1) for x in series]))
        return found
