"""The router's usage publisher: batches with publisher confirms, a durable outbox behind.

`submit` appends to an in-memory buffer, and to the journal on local disk (journal.py) so
that a killed process loses nothing. A flusher task publishes the buffer in
batches; a batch the broker does not confirm within `publish_timeout_s` goes to the outbox,
and the publisher stays "degraded" (new batches go straight to the outbox, no waiting on a
dead broker) until the replayer has published from the outbox again. Memory stays bounded:
past `max_buffer` events the buffer is spilled to the outbox at once. Delivery is
at-least-once; the consumer dedupes by event_id. The replayer claims each batch it takes
from the outbox (see outbox.py), so replicas sharing one database never replay the same
rows at once; a batch the broker did not confirm is released for the next try.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aistrale_common.events import EventBus, OutgoingMessage, Subscription
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.events.usage_batch import pack
from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task
from aistrale_common.tracing import TRACEPARENT, current_traceparent
from aistrale_router.metering.journal import Journal
from aistrale_router.metering.metrics import PublisherMetrics
from aistrale_router.metering.outbox import Claim, UsageOutbox

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PublisherConfig:
    batch_size: int = 200
    flush_interval_s: float = 0.05
    publish_timeout_s: float = 5.0
    max_buffer: int = 10_000
    replay_interval_s: float = 1.0
    replay_batch: int = 500
    shutdown_publish_timeout_s: float = 3.0


def _check_lease(config: PublisherConfig, outbox: UsageOutbox) -> None:
    # A replayer's claim must outlive its publish, or another replica could take the rows
    # while the first still publishes them.
    longest = max(config.publish_timeout_s, config.shutdown_publish_timeout_s)
    if outbox.lease_s <= longest:
        raise ValueError(
            f"the outbox lease ({outbox.lease_s} s) must exceed the publish timeout ({longest} s)"
        )


def to_message(event: UsageEventV1) -> OutgoingMessage:
    """Built in the request's context: its trace goes along in the `traceparent` header (the
    live path only; the journal and outbox keep bodies, not headers)."""
    traceparent = current_traceparent()
    return OutgoingMessage(
        routing_key=event.routing_key(),
        body=event.model_dump_json().encode(),
        message_id=str(event.event_id),
        headers={TRACEPARENT: traceparent} if traceparent else {},
    )


class UsagePublisher:
    """Implements `UsageSink`."""

    def __init__(
        self,
        bus: EventBus,
        exchange: str,
        outbox: UsageOutbox,
        metrics: PublisherMetrics,
        config: PublisherConfig | None = None,
        consumer_queue: Subscription | None = None,
        journal: Journal | None = None,
        also_declare: Sequence[Subscription] = (),
    ) -> None:
        self._config = config or PublisherConfig()
        self._also_declare = tuple(also_declare)
        self._journal = journal
        _check_lease(self._config, outbox)
        self._bus = bus
        self._consumer_queue = consumer_queue
        self._exchange = exchange
        self._outbox = outbox
        self._metrics = metrics
        self._buffer: list[OutgoingMessage] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._degraded = False
        self._tasks: list[asyncio.Task[None]] = []
        self._spill: asyncio.Task[None] | None = None
        self._inflight: list[OutgoingMessage] = []

    @property
    def degraded(self) -> bool:
        return self._degraded

    def submit(self, event: UsageEventV1) -> None:
        self.submit_message(to_message(event))

    def submit_message(self, message: OutgoingMessage) -> None:
        """Any message for the usage exchange, with the same durability (journal, outbox):
        the request body events of orgs that opted in (metering/bodies.py)."""
        if self._journal is not None:
            self._journal.append(message)
        self._buffer.append(message)
        self._metrics.buffered.set(len(self._buffer))
        if len(self._buffer) >= self._config.batch_size:
            self._wake.set()
        if len(self._buffer) >= self._config.max_buffer and self._spill is None:
            self._spill = asyncio.get_running_loop().create_task(self._spill_buffer())

    async def start(self) -> None:
        if self._journal is not None:
            self._journal.open()
            await self._recover()
        await self._declare_consumer_queue()
        await self._refresh_backlog()
        self._tasks = [
            asyncio.create_task(self._flush_loop()),
            asyncio.create_task(self._replay_loop()),
        ]

    async def stop(self) -> None:
        """Publish what is buffered (briefly), persist whatever is left; never drop."""
        self._stopping = True
        self._wake.set()
        flusher, replayer = self._tasks or (None, None)
        if replayer is not None:
            await stop_task(replayer, self._config.shutdown_publish_timeout_s + 1.0)
        if self._spill is not None:
            await self._spill
        if flusher is not None:
            await self._finish_flusher(flusher)
        await self._flush_all()
        await self._refresh_backlog()
        if self._journal is not None:
            self._journal.close()

    async def _recover(self) -> None:
        """Events a killed process had accepted: into the outbox, replayed from there."""
        assert self._journal is not None
        for path, messages in self._journal.orphans():
            await self._outbox.put(messages)
            path.unlink()
            self._metrics.recovered.inc(len(messages))
            log.warning("usage_journal_recovered", events=len(messages), path=str(path))

    def _made_durable(self, count: int) -> None:
        if self._journal is not None:
            self._journal.durable(count)

    async def _finish_flusher(self, flusher: asyncio.Task[None]) -> None:
        grace = self._config.shutdown_publish_timeout_s + 1.0
        done, _ = await asyncio.wait({flusher}, timeout=grace)
        if done:
            flusher.result()
            return
        # A publish that ignores its timeout must not hold the shutdown: its batch goes back
        # to the buffer and on to the outbox (if the broker did confirm it, the id dedupes).
        self._degraded = True
        self._buffer[:0] = self._inflight
        self._inflight = []
        flusher.cancel()

    async def _declare_consumer_queue(self) -> None:
        # An exchange drops what no queue is bound to: declaring the consumer's durable queue
        # up front means events published before analytics first starts wait for it.
        if self._consumer_queue is None:
            return
        for queue in (self._consumer_queue, *self._also_declare):
            try:
                await asyncio.wait_for(self._bus.declare(queue), self._config.publish_timeout_s)
            except Exception as exc:  # broker away (the outbox covers it) or declared otherwise
                log.warning("usage_queue_declare_failed", queue=queue.queue, error=repr(exc))

    async def _flush_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.flush_interval_s)
            self._wake.clear()
            await self._flush_all()

    async def _flush_all(self) -> None:
        while self._buffer:
            batch = self._take(self._config.batch_size)
            await self._publish_or_persist(batch)

    def _take(self, count: int) -> list[OutgoingMessage]:
        batch, self._buffer = self._buffer[:count], self._buffer[count:]
        self._metrics.buffered.set(len(self._buffer))
        return batch

    async def _publish_or_persist(self, batch: list[OutgoingMessage]) -> None:
        self._inflight = batch
        published = not self._degraded and await self._publish(batch, path="direct")
        self._inflight = []
        if published:
            self._made_durable(len(batch))
            return
        try:
            await self._outbox.put(batch)
        except BaseException:
            # The outbox is the last resort: put the batch back rather than lose it.
            self._buffer[:0] = batch
            raise
        self._made_durable(len(batch))
        self._metrics.outboxed.inc(len(batch))

    async def _publish(self, batch: list[OutgoingMessage], *, path: str) -> bool:
        timeout = (
            self._config.shutdown_publish_timeout_s
            if self._stopping
            else self._config.publish_timeout_s
        )
        try:
            # Events of one org go as one message: the broker and the consumers pay per
            # message (aistrale_common.events.usage_batch).
            packed = pack(batch)
            await asyncio.wait_for(self._bus.publish_batch(self._exchange, packed), timeout)
        except Exception as exc:  # any failure means "not confirmed": the outbox takes it
            self._degraded = True
            self._metrics.publish_failures.inc()
            log.warning("usage_publish_failed", events=len(batch), path=path, error=repr(exc))
            return False
        self._metrics.published.labels(path).inc(len(batch))
        return True

    async def _spill_buffer(self) -> None:
        try:
            while len(self._buffer) >= self._config.batch_size:
                batch = self._take(self._config.batch_size)
                await self._outbox.put(batch)
                self._made_durable(len(batch))
                self._metrics.outboxed.inc(len(batch))
        finally:
            self._spill = None

    async def _replay_loop(self) -> None:
        while not self._stopping:
            try:
                drained = await self._replay_some()
            except Exception:  # the outbox database itself failed: retry on the next tick
                log.exception("usage_outbox_replay_failed")
                drained = False
            if not drained:
                await asyncio.sleep(self._config.replay_interval_s)

    async def _replay_some(self) -> bool:
        """Publishes one claimed batch from the outbox; True when more may be waiting."""
        claim = await self._outbox.claim(self._config.replay_batch)
        if claim.messages:
            await self._replay(claim)
        elif self._degraded:
            # Nothing this replica may replay: probe the broker with the next live batch.
            self._degraded = False
        await self._refresh_backlog()
        return bool(claim.messages) and not self._degraded

    async def _replay(self, claim: Claim) -> None:
        try:
            published = await self._publish(claim.messages, path="replay")
        except BaseException:  # cancelled (shutdown): free the rows now, not at lease end
            await self._release_quietly(claim)
            raise
        if not published:
            await self._outbox.release(claim)
            return
        await self._outbox.delete(claim.event_ids)
        self._degraded = False

    async def _release_quietly(self, claim: Claim) -> None:
        try:
            await self._outbox.release(claim)
        except Exception as exc:  # the lease frees them anyway
            log.warning("usage_outbox_release_failed", events=len(claim.messages), error=repr(exc))

    async def _refresh_backlog(self) -> None:
        stats = await self._outbox.stats()
        self._metrics.backlog.set(stats.events)
        self._metrics.backlog_age.set(stats.age_seconds(datetime.now(UTC)))
