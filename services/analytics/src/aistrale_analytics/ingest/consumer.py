"""The usage consumer: group commit over a durable quorum queue.

The bus calls `handle` once per message, concurrently up to the prefetch; a message holds
one event or a batch of them (aistrale_common.events.usage_batch). The group commit in
aistrale_common parks each event and commits everything pending in one transaction before
the handlers return, so every ack follows the commit. A batch that fails is retried event
by event, so one bad event cannot take good ones with it: an event that can never be
stored (the schema or the database refuses it) goes to the dead-letter queue alone, at
once, and the rest of its message is acked. A database outage is waited out, not counted.

Lag is sampled, not derived: every `lag_interval_s` a passive declare of the queue (one
channel round trip) reads how many messages are ready and not yet delivered; what sits in
the prefetch window unacked is not counted (at most `prefetch`). A handler that still
fails (the dead-letter publish itself) has its message delivered again, up to
`max_deliveries`; the broker's own delivery limit is a higher safety net only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.trace import Tracer
from prometheus_client import Counter, Gauge

from aistrale_analytics.ingest.decode import decode_item
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.ingest.tracing import ingest_span
from aistrale_common.events import Consumer, EventBus, Message, OutgoingMessage, Subscription
from aistrale_common.events.group_commit import BatchMetrics, GroupCommit
from aistrale_common.events.port import max_deliveries
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.events.usage_batch import each_event
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.tasks import stop_task

log = get_logger(__name__)


class IngestMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.events: Counter = metrics.counter(
            "usage_events_total", "Usage messages handled", ("outcome",)
        )
        self.batch = BatchMetrics.create(metrics, "usage", "usage events")
        self.ingested: Counter = metrics.counter(
            "events_ingested_total", "Usage events newly stored by a committed transaction"
        )
        self.dead_letters: Counter = metrics.counter(
            "dead_letters_total", "Usage events the consumer sent to the dead-letter queue"
        )
        self.lag: Gauge = metrics.gauge(
            "consumer_lag", "Usage messages waiting in the queue, not yet delivered (sampled)"
        )


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    exchange: str
    queue: str
    prefetch: int = 256
    max_deliveries: int = 5
    batch_size: int = 500
    lag_interval_s: float = 5.0
    linger_s: float = 0.0  # a batch that is not full waits this long for more events

    def subscription(self) -> Subscription:
        return Subscription(
            self.exchange, ("usage.v1.#",), self.queue, self.prefetch, self.max_deliveries
        )


class UsageConsumer:
    def __init__(
        self,
        bus: EventBus,
        store: UsageStore,
        metrics: ServiceMetrics,
        config: ConsumerConfig,
        tracer: Tracer | None = None,
    ) -> None:
        self._tracer = tracer
        self._bus = bus
        self._config = config
        self._metrics = IngestMetrics(metrics)
        self._store = store
        self._group = GroupCommit(
            self._ingest,
            config.batch_size,
            self._metrics.batch,
            name="usage",
            linger_s=config.linger_s,
        )
        self._last_delivery = max_deliveries(config.subscription())
        self._consumer: Consumer | None = None
        self._lag_task: asyncio.Task[None] | None = None

    async def handle(self, message: Message) -> None:
        try:
            await self._handle(message)
        except Exception:
            if message.delivery_count >= self._last_delivery:  # the bus dead-letters it now
                self._metrics.dead_letters.inc()
            raise

    async def _handle(self, message: Message) -> None:
        if self._tracer is None:
            await each_event(message, decode_item, self._group.submit, self._reject)
            return
        with ingest_span(self._tracer, message, self._config.queue):
            await each_event(message, decode_item, self._group.submit, self._reject)

    async def _reject(self, message: OutgoingMessage, reason: str) -> None:
        """An event that can never be stored: kept in the dead-letter queue for a look."""
        await self._bus.dead_letter(self._config.subscription(), message)
        self._metrics.events.labels("malformed").inc()
        self._metrics.dead_letters.inc()
        log.warning("usage_event_dead_lettered", event_id=message.message_id, reason=reason)

    async def _ingest(self, events: Sequence[UsageEventV1]) -> None:
        """One transaction; counted as stored or duplicate, as a batch or one by one."""
        new = await self._store.ingest(events)
        self._metrics.events.labels("stored").inc(new)
        self._metrics.events.labels("duplicate").inc(len(events) - new)
        self._metrics.ingested.inc(new)

    async def sample_lag(self) -> int:
        waiting = await self._bus.queue_depth(self._config.queue)
        self._metrics.lag.set(waiting)
        return waiting

    async def _watch_lag(self) -> None:
        failing = False
        while True:
            try:
                await self.sample_lag()
                failing = False
            except Exception as exc:  # the broker away: /ready reports it; keep the last value
                if not failing:
                    log.warning("usage_lag_sample_failed", error=f"{type(exc).__name__}: {exc}")
                failing = True
            await asyncio.sleep(self._config.lag_interval_s)

    async def start(self) -> None:
        self._consumer = await self._bus.subscribe(self._config.subscription(), self.handle)
        self._lag_task = asyncio.create_task(self._watch_lag(), name="usage-consumer-lag")

    async def stop(self) -> None:
        if self._lag_task is not None:
            await stop_task(self._lag_task)
            self._lag_task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
