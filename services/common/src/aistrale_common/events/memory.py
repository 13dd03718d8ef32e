"""In-process event bus with the RabbitMQ adapter's semantics, for one process."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from aistrale_common.events.port import (
    Handler,
    Message,
    OutgoingMessage,
    Subscription,
    max_deliveries,
    topic_matches,
)
from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task

log = get_logger(__name__)


@dataclass
class _Queue:
    name: str
    items: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    bindings: list[tuple[str, str]] = field(default_factory=list)


class _MemoryConsumer:
    def __init__(self, task: asyncio.Task[None], on_stop: asyncio.Event) -> None:
        self._task = task
        self._on_stop = on_stop

    async def stop(self) -> None:
        await stop_task(self._task)


class MemoryEventBus:
    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._exclusive = 0
        self._consumers: list[_MemoryConsumer] = []

    async def publish(self, exchange: str, message: OutgoingMessage) -> None:
        delivered = Message(
            exchange, message.routing_key, message.body, message.message_id, dict(message.headers)
        )
        for queue in self._queues.values():
            if any(
                ex == exchange and topic_matches(p, message.routing_key) for ex, p in queue.bindings
            ):
                queue.items.put_nowait(delivered)

    async def publish_batch(self, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            await self.publish(exchange, message)

    async def declare(self, subscription: Subscription) -> None:
        self._declare(subscription)

    def _declare(self, subscription: Subscription) -> _Queue:
        name = subscription.queue
        if name is None:
            self._exclusive += 1
            name = f"amq.gen-{self._exclusive}"
        queue = self._queues.setdefault(name, _Queue(name))
        for key in subscription.binding_keys:
            if (subscription.exchange, key) not in queue.bindings:
                queue.bindings.append((subscription.exchange, key))
        return queue

    async def subscribe(self, subscription: Subscription, handler: Handler) -> _MemoryConsumer:
        queue = self._declare(subscription)
        stopped = asyncio.Event()
        task = asyncio.create_task(self._consume(queue, subscription, handler, stopped))
        consumer = _MemoryConsumer(task, stopped)
        self._consumers.append(consumer)
        return consumer

    async def _consume(
        self, queue: _Queue, sub: Subscription, handler: Handler, stopped: asyncio.Event
    ) -> None:
        # As RabbitMQ does: up to `prefetch` deliveries in flight at once, so a consumer
        # that batches what is pending (group commit) batches here too.
        exclusive = sub.queue is None
        window = asyncio.Semaphore(max(1, sub.prefetch))
        inflight: dict[asyncio.Task[None], Message] = {}

        def finished(task: asyncio.Task[None]) -> None:
            inflight.pop(task, None)
            window.release()

        try:
            while True:
                await window.acquire()
                got = await queue.items.get()
                message = replace(got, delivery_count=got.delivery_count + 1)
                task = asyncio.create_task(self._deliver(queue, sub, handler, message))
                inflight[task] = message
                task.add_done_callback(finished)
        finally:
            # Stopped: what is still being handled was never acked, so it goes back (a task
            # cancelled before it ran would not put its message back itself).
            for task, message in list(inflight.items()):
                task.cancel()
                queue.items.put_nowait(message)
            stopped.set()
            if exclusive:
                self._queues.pop(queue.name, None)

    async def _deliver(
        self, queue: _Queue, sub: Subscription, handler: Handler, message: Message
    ) -> None:
        try:
            await handler(message)
        except Exception:
            log.warning(
                "event_handler_failed",
                queue=queue.name,
                exc_info=True,
                delivery_count=message.delivery_count,
            )
            if message.delivery_count >= max_deliveries(sub):
                dead = sub.dead_letter_queue()
                if dead:
                    self._queues.setdefault(dead, _Queue(dead)).items.put_nowait(message)
            else:
                queue.items.put_nowait(message)

    async def queue_depth(self, queue: str) -> int:
        found = self._queues.get(queue)
        return found.items.qsize() if found else 0

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for consumer in self._consumers:
            await consumer.stop()
        self._consumers.clear()
