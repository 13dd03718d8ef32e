"""Router replicas sharing one Postgres outbox: each replays only the rows it claimed, so
every event is published once in total; a replica that dies frees its claim at lease end
(on SQLite too: the one process restarted after a crash)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aistrale_common.db import Database
from aistrale_common.events import (
    Consumer,
    EventBus,
    Handler,
    OutgoingMessage,
    RabbitEventBus,
    Subscription,
)
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.metering import PublisherConfig, UsagePublisher, build_usage_sink
from aistrale_router.metering.outbox import UsageOutbox
from aistrale_router.metering.publisher import to_message
from aistrale_router.migrate import migrate_async
from aistrale_router.settings import Settings
from aistrale_testkit.fixtures import Infra

EventFactory = Callable[[int], UsageEventV1]
Collect = Callable[[EventBus, str, str], Awaitable[Any]]
BACKLOG = 4000
# Publishes confirm well within their timeout here, so no batch is ever published twice
# for an honest reason (a timed-out batch that partly reached the queue).
CONFIG = PublisherConfig(
    publish_timeout_s=5.0, shutdown_publish_timeout_s=1.0, replay_interval_s=0.05, replay_batch=200
)


class SlowBus:
    """A replica whose broker confirms slowly: it holds each claim a while."""

    def __init__(self, bus: EventBus, delay_s: float) -> None:
        self._bus = bus
        self._delay_s = delay_s

    async def publish(self, exchange: str, message: OutgoingMessage) -> None:
        await self.publish_batch(exchange, [message])

    async def publish_batch(self, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
        await asyncio.sleep(self._delay_s)
        await self._bus.publish_batch(exchange, messages)

    async def declare(self, subscription: Subscription) -> None:
        await self._bus.declare(subscription)

    async def subscribe(self, subscription: Subscription, handler: Handler) -> Consumer:
        return await self._bus.subscribe(subscription, handler)

    async def queue_depth(self, queue: str) -> int:
        return await self._bus.queue_depth(queue)

    async def dead_letter(self, subscription: Subscription, message: OutgoingMessage) -> None:
        await self._bus.dead_letter(subscription, message)

    async def ping(self) -> None:
        await self._bus.ping()

    async def close(self) -> None:
        pass  # the wrapped bus is closed by its owner


class RefusingBus(SlowBus):
    """A broker that refuses the first `refusals` batches (not confirmed)."""

    def __init__(self, bus: EventBus, refusals: int) -> None:
        super().__init__(bus, 0.0)
        self.refusals = refusals

    async def publish_batch(self, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise ConnectionError("broker refused the batch")
        await super().publish_batch(exchange, messages)


@asynccontextmanager
async def replica(
    bus: EventBus,
    names: dict[str, str],
    url: str,
    lease_s: float = 30.0,
    config: PublisherConfig = CONFIG,
) -> AsyncIterator[tuple[UsagePublisher, ServiceMetrics]]:
    """One router replica's publisher, on its own connection pool to the shared database."""
    settings = Settings(
        amqp_url=names["amqp_url"],
        usage_exchange=names["exchange"],
        queue_prefix=names["prefix"],
        usage_outbox_lease_s=lease_s,
    )
    db = Database(url)
    metrics = ServiceMetrics("api-router")
    sink = build_usage_sink(settings, bus, db, metrics, config)
    assert isinstance(sink, UsagePublisher)
    try:
        yield sink, metrics
    finally:
        await sink.stop()
        await db.close()


@pytest.fixture(params=["postgres", "sqlite"])
async def outbox_url(
    request: pytest.FixtureRequest, tmp_path: Path, create_pg_database: Callable[[str], str]
) -> str:
    """Shared Postgres (replicas), or the embedded SQLite file (one process that restarts)."""
    if request.param == "postgres":
        url = create_pg_database("router")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'api-router.db'}"
    await migrate_async(Settings(database_url=url))
    return url


def replayed(metrics: ServiceMetrics) -> float:
    name = "aistrale_api_router_usage_events_published_total"
    return metrics.registry.get_sample_value(name, {"path": "replay"}) or 0.0


async def fill(url: str, events: list[UsageEventV1]) -> None:
    db = Database(url)
    try:
        for start in range(0, len(events), 500):
            await UsageOutbox(db).put([to_message(e) for e in events[start : start + 500]])
    finally:
        await db.close()


async def backlog(url: str) -> int:
    db = Database(url)
    try:
        return (await UsageOutbox(db).stats()).events
    finally:
        await db.close()


async def wait_drained(url: str, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while await backlog(url):
            await asyncio.sleep(0.05)


async def test_two_replicas_replay_a_shared_backlog_exactly_once(
    infra: Infra, pg_outbox_url: str, names: dict[str, str], event: EventFactory, collect: Collect
) -> None:
    sent = [event(i) for i in range(BACKLOG)]
    await fill(pg_outbox_url, sent)
    bus = await RabbitEventBus.connect(infra.amqp_url)
    try:
        collector = await collect(bus, names["exchange"], names["queue"])
        async with AsyncExitStack() as stack:
            # One replica publishes slowly: it holds each claim 0.2 s, and the other must
            # take other rows meanwhile, never the ones it holds.
            slow, slow_metrics = await stack.enter_async_context(
                replica(SlowBus(bus, 0.2), names, pg_outbox_url)
            )
            fast, fast_metrics = await stack.enter_async_context(replica(bus, names, pg_outbox_url))
            await asyncio.gather(slow.start(), fast.start())
            await wait_drained(pg_outbox_url, timeout_s=60)
        await collector.wait_for(BACKLOG, timeout_s=30)
        async with asyncio.timeout(10):
            while await bus.queue_depth(names["queue"]):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a duplicate would land now
        assert collector.ids == {str(e.event_id) for e in sent}
        assert collector.deliveries == BACKLOG  # each event once, across both replicas
        by_slow, by_fast = replayed(slow_metrics), replayed(fast_metrics)
        print(f"\nreplayed: slow replica {by_slow:.0f}, fast replica {by_fast:.0f}")
        assert by_slow > 0 and by_fast > 0
        assert by_slow + by_fast == BACKLOG
    finally:
        await bus.close()


async def test_a_dead_replicas_claim_is_taken_over_when_its_lease_runs_out(
    infra: Infra, outbox_url: str, names: dict[str, str], event: EventFactory, collect: Collect
) -> None:
    # A short lease, above the publish timeouts as the publisher requires.
    lease_s, config = 2.0, replace(CONFIG, publish_timeout_s=1.0, shutdown_publish_timeout_s=0.5)
    sent = [event(i) for i in range(1000)]
    await fill(outbox_url, sent)
    # A replica claims the 300 oldest rows, then dies: it never publishes nor deletes them.
    dead_db = Database(outbox_url)
    try:
        dead = await UsageOutbox(dead_db, lease_s=lease_s).claim(300)
    finally:
        await dead_db.close()
    held = set(dead.event_ids)
    assert len(held) == 300
    bus = await RabbitEventBus.connect(infra.amqp_url)
    try:
        collector = await collect(bus, names["exchange"], names["queue"])
        async with replica(bus, names, outbox_url, lease_s, config) as (survivor, _):
            await survivor.start()
            # Everything else is replayed at once; the dead replica's rows wait for its lease.
            await collector.wait_for(len(sent) - len(held), timeout_s=30)
            assert not collector.ids & held
            assert await backlog(outbox_url) == len(held)
            await wait_drained(outbox_url, timeout_s=lease_s + 30)
        await collector.wait_for(len(sent), timeout_s=30)
        await asyncio.sleep(0.3)
        assert collector.ids == {str(e.event_id) for e in sent}
        assert collector.deliveries == len(sent)
    finally:
        await bus.close()


async def test_a_released_claim_is_free_at_once_and_rows_come_oldest_first(
    outbox_url: str, event: EventFactory
) -> None:
    sent = [event(i) for i in range(10)]
    await fill(outbox_url, sent)
    db = Database(outbox_url)
    try:
        outbox = UsageOutbox(db, lease_s=3600.0)
        first = await outbox.claim(100)
        assert len(first.messages) == 10
        assert (await outbox.claim(100)).messages == []  # held: nobody else gets them
        await outbox.release(first)
        again = await outbox.claim(100)  # free at once, long before the lease would end
        assert again.event_ids == first.event_ids
        # One put, one created_at: oldest first, then by event_id.
        assert again.event_ids == sorted(str(e.event_id) for e in sent)
    finally:
        await db.close()


async def test_a_batch_the_broker_did_not_confirm_is_retried_before_its_lease_ends(
    infra: Infra, pg_outbox_url: str, names: dict[str, str], event: EventFactory, collect: Collect
) -> None:
    sent = [event(i) for i in range(500)]
    await fill(pg_outbox_url, sent)
    bus = await RabbitEventBus.connect(infra.amqp_url)
    try:
        collector = await collect(bus, names["exchange"], names["queue"])
        # An hour's lease: only the release after each refusal lets the rows go out now.
        async with replica(RefusingBus(bus, 3), names, pg_outbox_url, 3600.0) as (sink, _):
            await sink.start()
            await wait_drained(pg_outbox_url, timeout_s=30)
        await collector.wait_for(len(sent), timeout_s=30)
        assert collector.ids == {str(e.event_id) for e in sent}
    finally:
        await bus.close()
