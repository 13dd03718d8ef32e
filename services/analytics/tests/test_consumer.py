"""The consumer on real RabbitMQ and Postgres: batches, dedupe, dead-lettering, throughput."""

from __future__ import annotations

import asyncio
import time

from aistrale_analytics.app import consumer_config
from aistrale_analytics.ingest.consumer import UsageConsumer
from aistrale_analytics.ingest.rollup import BUCKETS
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.settings import Settings
from aistrale_analytics.testing.factories import random_events
from aistrale_analytics.testing.sums import expected_totals, rollup_totals, stored_ids
from aistrale_common.db import Database
from aistrale_common.events import OutgoingMessage, RabbitEventBus
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.testing.fixtures import Infra

N = 3000


def as_message(event_json: bytes, event_id: str, org_id: str) -> OutgoingMessage:
    return OutgoingMessage(f"usage.v1.{org_id}", event_json, event_id)


async def wait_for_rows(db: Database, org_id: str, count: int, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while len(await stored_ids(db, org_id)) < count:
            await asyncio.sleep(0.05)


async def test_consumer_stores_each_event_once_and_dead_letters_poison(
    infra: Infra, pg_db: Database, analytics_settings: Settings
) -> None:
    config = consumer_config(analytics_settings)
    org = "org-consumer"
    events = random_events(N, org)
    messages = [as_message(e.model_dump_json().encode(), str(e.event_id), org) for e in events]
    bus = await RabbitEventBus.connect(infra.amqp_url)
    try:
        await bus.declare(config.subscription())
        # Every event, a redelivered-looking duplicate of 500 of them, and two poison pills.
        await bus.publish_batch(config.exchange, messages + messages[:500])
        poison = [
            as_message(b"{not json", "bad-1", org),
            as_message(b'{"org_id": 1}', "bad-2", org),
        ]
        await bus.publish_batch(config.exchange, poison)

        consumer = UsageConsumer(bus, UsageStore(pg_db), ServiceMetrics("analytics"), config)
        started = time.perf_counter()
        await consumer.start()
        await wait_for_rows(pg_db, org, N, timeout_s=60)
        elapsed = time.perf_counter() - started
        async with asyncio.timeout(30):
            while await bus.queue_depth(f"{config.queue}.dead") < 2:
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # let any straggling duplicate land (it must add nothing)
        await consumer.stop()

        assert sorted(await stored_ids(pg_db, org)) == sorted(str(e.event_id) for e in events)
        for bucket in BUCKETS:
            assert await rollup_totals(pg_db, org, bucket) == expected_totals(events)
        assert await bus.queue_depth(config.queue) == 0
        assert await bus.queue_depth(f"{config.queue}.dead") == 2
        samples = next(iter(consumer._metrics.batch_size.collect())).samples
        sizes = {s.name.rsplit("_", 1)[1]: s.value for s in samples}
        print(f"\nbatches: {sizes['count']:.0f}, mean size {sizes['sum'] / sizes['count']:.0f}")
        print(f"\nconsumer throughput: {(N + 500) / elapsed:.0f} messages/s ({N} events)")
    finally:
        await bus.close()
