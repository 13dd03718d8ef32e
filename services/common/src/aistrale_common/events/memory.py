"""In-process event bus with the RabbitMQ adapter's semantics, for one process.

One difference is forced by memory: nothing outlives the process, so a consumer that stops
first delivers what its queue still holds (for at most DRAIN_S), where RabbitMQ would keep
it for the next consumer. In `make run` the router flushes its usage events to the bus at
shutdown, and analytics, which stops after it, still stores them.
"""

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
DRAIN_S = 5.0


@dataclass
class _Queue:
    name: str
    items: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    bindings: list[tuple[str, str]] = field(default_factory=list)


class _MemoryConsumer:
    def __init__(
        self,
        task: asyncio.Task[None],
        queue: _Queue,
        inflight: dict[asyncio.Task[None], Message],
        drain_s: float,
    ) -> None:
        self._task = task
        self._queue = queue
        self._inflight = inflight
        self._drain_s = drain_s

    async def stop(self) -> None:
        """Delivers what is queued and in flight first (up to `drain_s`), then stops."""
        deadline = asyncio.get_running_loop().time() + self._drain_s
        while (self._queue.items.qsize() or self._inflight) and not self._task.done():
            if asyncio.get_running_loop().time() > deadline:
                log.warning("memory_bus_not_drained", queue=self._queue.name)
                break
            await asyncio.sleep(0.01)
        await stop_task(self._task)


class MemoryEventBus:
    def __init__(self, drain_s: float = DRAIN_S) -> None:
        self._drain_s = drain_s
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
        inflight: dict[asyncio.Task[None], Message] = {}
        task = asyncio.create_task(self._consume(queue, subscription, handler, inflight))
        consumer = _MemoryConsumer(task, queue, inflight, self._drain_s)
        self._consumers.append(consumer)
        return consumer

    async def _consume(
        self,
        queue: _Queue,
        sub: Subscription,
        handler: Handler,
        inflight: dict[asyncio.Task[None], Message],
    ) -> None:
        # As RabbitMQ does: up to `prefetch` deliveries in flight at once, so a consumer
        # that batches what is pending (group commit) batches here too.
        exclusive = sub.queue is None
        window = asyncio.Semaphore(max(1, sub.prefetch))

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

    async def dead_letter(self, subscription: Subscription, message: OutgoingMessage) -> None:
        dead = subscription.dead_letter_queue()
        assert dead is not None, "an exclusive queue has no dead-letter queue"
        delivered = Message(subscription.exchange, message.routing_key, message.body)
        self._queues.setdefault(dead, _Queue(dead)).items.put_nowait(
            replace(delivered, message_id=message.message_id)
        )

    async def queue_depth(self, queue: str) -> int:
        found = self._queues.get(queue)
        return found.items.qsize() if found else 0

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for consumer in self._consumers:
            await consumer.stop()
        self._consumers.clear()
