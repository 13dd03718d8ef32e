"""Keys' last-used time, from the usage events the router publishes anyway.

A durable queue of our own on the usage exchange. Deliveries go through a group commit
(aistrale_common.events.group_commit): what is pending is coalesced to each key's newest
time and written in one statement per batch, and every ack follows that commit. Updates
only move the time forward, so redeliveries and out-of-order events are harmless. The
lookup path stays read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter

from aistrale_common.db import Database
from aistrale_common.events import Consumer, EventBus, Message, OutgoingMessage, Subscription
from aistrale_common.events.group_commit import BatchMetrics, GroupCommit
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.events.usage_batch import each_event
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_userorg.keys import repository as repo
from aistrale_userorg.util import as_utc

log = get_logger(__name__)
QUEUE = "user-org.key-last-used"
Used = tuple[str, datetime]  # key id, when


@dataclass(frozen=True, slots=True)
class LastUsedConfig:
    exchange: str
    queue: str
    # A batch holds at most what the broker has delivered and not yet seen acked, so the
    # prefetch bounds the batch: large, since a batch costs one statement.
    prefetch: int = 512
    batch_size: int = 512
    linger_s: float = 0.0

    def subscription(self) -> Subscription:
        return Subscription(self.exchange, ("usage.v1.#",), self.queue, self.prefetch)


def _used(item: object) -> Used:
    event = UsageEventV1.model_validate(item)  # a ValidationError is a ValueError
    return event.key_id, as_utc(event.occurred_at)


def newest_per_key(used: Iterable[Used]) -> dict[str, datetime]:
    newest: dict[str, datetime] = {}
    for key_id, at in used:
        if key_id not in newest or at > newest[key_id]:
            newest[key_id] = at
    return newest


class LastUsedConsumer:
    def __init__(self, db: Database, metrics: ServiceMetrics, config: LastUsedConfig) -> None:
        self._db = db
        self._config = config
        self._events: Counter = metrics.counter(
            "last_used_events_total", "Usage events read by the last-used consumer", ("outcome",)
        )
        batches = BatchMetrics.create(metrics, "last_used", "Usage events")
        self._group = GroupCommit(
            self._write, config.batch_size, batches, name="last-used", linger_s=config.linger_s
        )

    async def handle(self, message: Message) -> None:
        """One event or a batch (aistrale_common.events.usage_batch)."""
        await each_event(message, _used, self._group.submit, self._ignore)

    async def _ignore(self, message: OutgoingMessage, reason: str) -> None:
        # Acked: a body that is not a usage event never will be, and a last-used time is
        # not worth a dead-letter queue (analytics keeps its own of the same events).
        self._events.labels("invalid").inc()
        log.warning("usage_event_invalid", message_id=message.message_id, reason=reason)

    async def _write(self, used: Sequence[Used]) -> None:
        async with self._db.transaction() as session:
            await repo.touch(session, newest_per_key(used))
        self._events.labels("applied").inc(len(used))

    async def subscribe(self, bus: EventBus) -> Consumer:
        return await bus.subscribe(self._config.subscription(), self.handle)


async def consume_usage(
    db: Database, bus: EventBus, metrics: ServiceMetrics, config: LastUsedConfig
) -> Consumer:
    return await LastUsedConsumer(db, metrics, config).subscribe(bus)
