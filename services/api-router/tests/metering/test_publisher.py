"""The usage publisher on real RabbitMQ: confirms, outbox during outages, replay, shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aistrale_common.db import Database
from aistrale_common.events import EventBus, RabbitEventBus, Subscription
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.metering import PublisherConfig, UsagePublisher, build_usage_sink
from aistrale_router.metering.outbox import UsageOutbox
from aistrale_router.settings import Settings
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.tcp_proxy import tcp_proxy

EventFactory = Callable[[int], UsageEventV1]
Collect = Callable[[EventBus, str, str], Awaitable[Any]]
FAST = PublisherConfig(publish_timeout_s=1.0, replay_interval_s=0.1, shutdown_publish_timeout_s=0.5)


def proxied(infra: Infra, port: int) -> str:
    # Reconnect quickly once the proxy is restored (aio-pika reads this from the URL).
    host_part = infra.amqp_url.split("@", 1)[1].split("/", 1)[0]
    return infra.amqp_url.replace(host_part, f"127.0.0.1:{port}") + "?reconnect_interval=0.2"


def publisher(bus: EventBus, names: dict[str, str], db: Database) -> UsagePublisher:
    settings = Settings(
        amqp_url=names["amqp_url"], usage_exchange=names["exchange"], queue_prefix=names["prefix"]
    )
    sink = build_usage_sink(settings, bus, db, ServiceMetrics("api-router"), FAST)
    assert isinstance(sink, UsagePublisher)
    return sink


async def backlog(db: Database) -> int:
    return (await UsageOutbox(db).stats()).events


async def test_events_are_published_in_confirmed_batches_and_wait_for_their_consumer(
    infra: Infra, outbox_db: Database, names: dict[str, str], event: EventFactory, collect: Collect
) -> None:
    bus = await RabbitEventBus.connect(infra.amqp_url)
    try:
        sink = publisher(bus, names, outbox_db)
        await sink.start()  # declares analytics' queue: nothing is dropped before it starts
        sent = [event(i) for i in range(1000)]
        for item in sent:
            sink.submit(item)
        await sink.stop()
        # stop() publishes for a bounded time and persists the rest: on a loaded machine some
        # may wait in the outbox. A batch whose confirm timed out after part of it reached the
        # queue is in both places (at-least-once; the consumer dedupes by event_id); the
        # replay below checks that the two together hold every id. One org's events go as
        # one message per flushed batch (usage_batch.pack): far fewer messages than events.
        queued = await bus.queue_depth(names["queue"])
        assert 0 < queued <= len(sent) // 100
        replay = publisher(bus, names, outbox_db)
        collector = await collect(bus, names["exchange"], names["queue"])
        await replay.start()
        try:
            await collector.wait_for(len(sent), timeout_s=20)
            assert collector.ids == {str(e.event_id) for e in sent}
            async with asyncio.timeout(15):
                while await backlog(outbox_db):
                    await asyncio.sleep(0.05)
        finally:
            await replay.stop()
    finally:
        await bus.close()


async def test_outage_fills_the_outbox_and_replay_delivers_everything(
    infra: Infra, outbox_db: Database, names: dict[str, str], event: EventFactory, collect: Collect
) -> None:
    direct = await RabbitEventBus.connect(infra.amqp_url)
    await direct.declare(Subscription(names["exchange"], ("usage.v1.#",), names["queue"]))
    with tcp_proxy("127.0.0.1", 5672) as proxy:
        bus = await RabbitEventBus.connect(proxied(infra, proxy.port))
        sink = publisher(bus, names, outbox_db)
        await sink.start()
        sent = [event(i) for i in range(3000)]
        for item in sent[:500]:
            sink.submit(item)
        proxy.cut()
        for chunk in range(500, 3000, 250):  # load keeps coming while the broker is away
            for item in sent[chunk : chunk + 250]:
                sink.submit(item)
            await asyncio.sleep(0.05)
        async with asyncio.timeout(20):
            while await backlog(outbox_db) < 2000:
                await asyncio.sleep(0.1)
        in_outbox = await backlog(outbox_db)
        proxy.restore()
        started = time.perf_counter()
        async with asyncio.timeout(60):
            while await backlog(outbox_db) > 0:
                await asyncio.sleep(0.05)
        replay_rate = in_outbox / (time.perf_counter() - started)
        await sink.stop()
        await bus.close()
    collector = await collect(direct, names["exchange"], names["queue"])
    try:
        await collector.wait_for(len(sent), timeout_s=30)
        assert collector.ids == {str(e.event_id) for e in sent}
        print(f"\noutbox replay: {in_outbox} events, {replay_rate:.0f} events/s (incl. reconnect)")
    finally:
        await direct.close()


async def test_stop_during_outage_persists_everything_in_flight(
    infra: Infra, outbox_db: Database, names: dict[str, str], event: EventFactory, collect: Collect
) -> None:
    direct = await RabbitEventBus.connect(infra.amqp_url)
    await direct.declare(Subscription(names["exchange"], ("usage.v1.#",), names["queue"]))
    sent = [event(i) for i in range(700)]
    with tcp_proxy("127.0.0.1", 5672) as proxy:
        bus = await RabbitEventBus.connect(proxied(infra, proxy.port))
        sink = publisher(bus, names, outbox_db)
        await sink.start()
        proxy.cut()
        for item in sent:
            sink.submit(item)
        await sink.stop()  # SIGTERM path: the broker is away, nothing may be lost
        with_outbox = await backlog(outbox_db)
        await bus.close()
    assert with_outbox == len(sent)
    # The next process start replays the outbox.
    restarted = publisher(direct, names, outbox_db)
    collector = await collect(direct, names["exchange"], names["queue"])
    await restarted.start()
    try:
        await collector.wait_for(len(sent), timeout_s=30)
        assert collector.ids == {str(e.event_id) for e in sent}
        # Rows leave the outbox only after the broker's confirm, a moment after delivery.
        async with asyncio.timeout(15):
            while await backlog(outbox_db):
                await asyncio.sleep(0.05)
    finally:
        await restarted.stop()
        await direct.close()
    assert await backlog(outbox_db) == 0
