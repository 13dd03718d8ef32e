"""The consumer on real RabbitMQ and Postgres: batches, dedupe, dead-lettering, throughput."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import orjson
import pytest
import sqlalchemy as sa

from aistrale_analytics.app import consumer_config
from aistrale_analytics.ingest.consumer import ConsumerConfig, UsageConsumer
from aistrale_analytics.ingest.rollup import BUCKETS
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.settings import Settings
from aistrale_common.db import Database
from aistrale_common.events import MemoryEventBus, OutgoingMessage, RabbitEventBus
from aistrale_common.events.usage_batch import BATCH_HEADER, pack
from aistrale_common.metrics import ServiceMetrics
from aistrale_testkit.analytics.factories import random_events, usage_event
from aistrale_testkit.analytics.sums import expected_totals, rollup_totals, stored_ids
from aistrale_testkit.fixtures import Infra

N = 3000


def as_message(event_json: bytes, event_id: str, org_id: str) -> OutgoingMessage:
    return OutgoingMessage(f"usage.v1.{org_id}", event_json, event_id)


def sample(metrics: ServiceMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(f"aistrale_analytics_{name}")


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

        metrics = ServiceMetrics("analytics")
        consumer = UsageConsumer(bus, UsageStore(pg_db), metrics, config)
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
        # Each poison was delivered max_deliveries times and dead-lettered once; duplicates
        # are committed but not ingested again.
        assert sample(metrics, "dead_letters_total") == 2
        assert sample(metrics, "events_ingested_total") == N
        samples = next(iter(consumer._metrics.batch.size.collect())).samples
        sizes = {s.name.rsplit("_", 1)[1]: s.value for s in samples}
        print(f"\nbatches: {sizes['count']:.0f}, mean size {sizes['sum'] / sizes['count']:.0f}")
        print(f"\nconsumer throughput: {(N + 500) / elapsed:.0f} messages/s ({N} events)")
    finally:
        await bus.close()


REFUSING_TRIGGER = (
    """CREATE OR REPLACE FUNCTION refuse_marked() RETURNS trigger AS $$
    BEGIN
      IF NEW.key_id = 'refused-by-db' THEN RAISE EXCEPTION 'refused for the test'; END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS refuse_marked ON usage_events",
    """CREATE TRIGGER refuse_marked BEFORE INSERT ON usage_events
      FOR EACH ROW EXECUTE FUNCTION refuse_marked()""",
)


async def test_a_batch_message_is_stored_event_by_event_and_its_bad_event_goes_alone(
    infra: Infra, pg_db: Database, analytics_settings: Settings
) -> None:
    """The router packs one org's events into one message (usage_batch.pack): every good
    event of it is stored, and the one the schema refuses reaches the dead-letter queue on
    its own, at once; the message is acked."""
    config = consumer_config(analytics_settings)
    org = "org-batched"
    good = random_events(400, org)
    singles = [as_message(e.model_dump_json().encode(), str(e.event_id), org) for e in good]
    bad = as_message(orjson.dumps({"event_id": "not-a-uuid", "org_id": org}), "bad", org)
    batches = pack([*singles[:200], bad, *singles[200:]])
    assert len(batches) == 1 and batches[0].headers[BATCH_HEADER] == 401
    bus = await RabbitEventBus.connect(infra.amqp_url)
    metrics = ServiceMetrics("analytics")
    consumer = UsageConsumer(bus, UsageStore(pg_db), metrics, config)
    try:
        await bus.declare(config.subscription())
        await bus.publish_batch(config.exchange, batches)
        await consumer.start()
        await wait_for_rows(pg_db, org, len(good), timeout_s=60)
        async with asyncio.timeout(30):
            while await bus.queue_depth(f"{config.queue}.dead") < 1:
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        assert await bus.queue_depth(config.queue) == 0  # acked
        assert await bus.queue_depth(f"{config.queue}.dead") == 1
        assert sorted(await stored_ids(pg_db, org)) == sorted(str(e.event_id) for e in good)
        assert sample(metrics, "dead_letters_total") == 1
    finally:
        await consumer.stop()
        await bus.close()


async def test_an_event_the_database_refuses_fails_alone(
    infra: Infra, pg_db: Database, analytics_settings: Settings
) -> None:
    """A valid event the database refuses (here a trigger does, as a constraint would): its
    batch fails, is retried event by event, and only that event reaches the dead-letter
    queue."""
    # One delivery, few events: the test logger renders each failure's locals, slowly.
    config = replace(consumer_config(analytics_settings), max_deliveries=1)
    org = "org-refused"
    good = random_events(30, org)
    refused = usage_event(org, key_id="refused-by-db")
    async with pg_db.transaction() as session:
        for statement in REFUSING_TRIGGER:
            await session.execute(sa.text(statement))
    events = [*good[:15], refused, *good[15:]]
    messages = [as_message(e.model_dump_json().encode(), str(e.event_id), org) for e in events]
    bus = await RabbitEventBus.connect(infra.amqp_url)
    metrics = ServiceMetrics("analytics")
    consumer = UsageConsumer(bus, UsageStore(pg_db), metrics, config)
    try:
        await bus.declare(config.subscription())
        await bus.publish_batch(config.exchange, messages)
        await consumer.start()
        await wait_for_rows(pg_db, org, len(good), timeout_s=60)
        async with asyncio.timeout(30):
            while await bus.queue_depth(f"{config.queue}.dead") < 1:
                await asyncio.sleep(0.1)
        assert sorted(await stored_ids(pg_db, org)) == sorted(str(e.event_id) for e in good)
        assert sample(metrics, "dead_letters_total") == 1
        assert sample(metrics, "events_ingested_total") == len(good)
    finally:
        await consumer.stop()
        await bus.close()


async def test_lag_shows_the_backlog_and_drains_to_zero(
    infra: Infra, pg_db: Database, analytics_settings: Settings
) -> None:
    # Prefetch 1: the backlog stays in the queue (not in the consumer's window) while it drains.
    config = replace(consumer_config(analytics_settings), prefetch=1, lag_interval_s=0.02)
    org, count = "org-lag", 300
    events = random_events(count, org)
    messages = [as_message(e.model_dump_json().encode(), str(e.event_id), org) for e in events]
    bus = await RabbitEventBus.connect(infra.amqp_url)
    metrics = ServiceMetrics("analytics")
    consumer = UsageConsumer(bus, UsageStore(pg_db), metrics, config)
    try:
        await bus.declare(config.subscription())
        await bus.publish_batch(config.exchange, messages)
        assert await consumer.sample_lag() == count  # nothing consumed yet: all waiting
        assert sample(metrics, "consumer_lag") == count
        seen: list[float] = []
        await consumer.start()
        async with asyncio.timeout(60):
            while len(await stored_ids(pg_db, org)) < count:
                seen.append(sample(metrics, "consumer_lag") or 0.0)
                await asyncio.sleep(0.01)
            while sample(metrics, "consumer_lag") != 0:
                await asyncio.sleep(0.01)
        assert any(0 < lag < count for lag in seen)  # sampled while draining
        assert sample(metrics, "events_ingested_total") == count
    finally:
        await consumer.stop()
        await bus.close()


async def test_lag_keeps_its_last_value_while_the_broker_cannot_answer(pg_db: Database) -> None:
    class FlakyBus(MemoryEventBus):
        def __init__(self) -> None:
            super().__init__()
            self.answers = [7]

        async def queue_depth(self, queue: str) -> int:
            if self.answers:
                return self.answers.pop()
            raise ConnectionError("broker away")

    bus = FlakyBus()
    config = ConsumerConfig("usage", "analytics.usage", lag_interval_s=0.01)
    metrics = ServiceMetrics("analytics")
    consumer = UsageConsumer(bus, UsageStore(pg_db), metrics, config)
    await consumer.start()
    try:
        await asyncio.sleep(0.1)  # one answer, then several failed samples
        assert sample(metrics, "consumer_lag") == 7
        with pytest.raises(ConnectionError):
            await consumer.sample_lag()
        # The consumer itself still works: one event ingested through the same bus.
        [event] = random_events(1, "org-flaky")
        message = as_message(event.model_dump_json().encode(), str(event.event_id), "org-flaky")
        await bus.publish(config.exchange, message)
        await wait_for_rows(pg_db, "org-flaky", 1, timeout_s=10)
        assert sample(metrics, "events_ingested_total") == 1
    finally:
        await consumer.stop()
        await bus.close()
