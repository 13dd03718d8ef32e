"""RabbitMQ event bus: durable topic exchanges, confirms, quorum queues, DLQs.

aio-pika declares, consumes and checks; publishing goes through the lean confirm-mode
publisher (`events/amqp`), about an eighth of aio-pika's CPU per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from aistrale_common.events.amqp import LeanPublisher
from aistrale_common.events.port import (
    Handler,
    Message,
    OutgoingMessage,
    Subscription,
    max_deliveries,
)
from aistrale_common.logging import get_logger

log = get_logger(__name__)
PING_TIMEOUT_S = 2.0
CLOSE_TIMEOUT_S = 5.0


class _RabbitConsumer:
    def __init__(self, channel: AbstractChannel, queue: AbstractQueue, tag: str) -> None:
        self._channel = channel
        self._queue = queue
        self._tag = tag

    async def stop(self) -> None:
        if not self._channel.is_closed:
            await self._queue.cancel(self._tag)
            await self._channel.close()


class RabbitEventBus:
    def __init__(
        self,
        connection: AbstractRobustConnection,
        channel: AbstractChannel,
        publisher: LeanPublisher,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._publisher = publisher
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consumers: list[_RabbitConsumer] = []

    @classmethod
    async def connect(cls, url: str) -> RabbitEventBus:
        connection = await aio_pika.connect_robust(url, timeout=5)
        channel = await connection.channel(publisher_confirms=True)
        return cls(connection, channel, LeanPublisher(url))

    async def _exchange(
        self, name: str, channel: AbstractChannel | None = None
    ) -> AbstractExchange:
        if channel is not None:
            return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        if name not in self._exchanges:
            self._exchanges[name] = await self._channel.declare_exchange(
                name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        return self._exchanges[name]

    async def publish(self, exchange: str, message: OutgoingMessage) -> None:
        await self.publish_batch(exchange, [message])

    async def publish_batch(self, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
        await self._exchange(exchange)  # declared once, by aio-pika
        # Written in one syscall; confirms awaited together: one round trip for the batch.
        await self._publisher.publish_batch(exchange, messages)

    async def declare(self, subscription: Subscription) -> None:
        channel = await self._connection.channel()
        try:
            await self._declare(channel, subscription)
        finally:
            await channel.close()

    async def _declare(self, channel: AbstractChannel, sub: Subscription) -> AbstractQueue:
        exchange = await self._exchange(sub.exchange, channel)
        if sub.queue is None:
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        else:
            queue = await self._declare_durable(channel, sub)
        for key in sub.binding_keys:
            await queue.bind(exchange, routing_key=key)
        return queue

    async def _declare_durable(self, channel: AbstractChannel, sub: Subscription) -> AbstractQueue:
        assert sub.queue is not None
        dead_name = sub.dead_letter_queue()
        dlx = await channel.declare_exchange(
            f"{sub.exchange}.dead", aio_pika.ExchangeType.DIRECT, durable=True
        )
        dead = await channel.declare_queue(
            dead_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(dlx, routing_key=sub.queue)
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": f"{sub.exchange}.dead",
            "x-dead-letter-routing-key": sub.queue,
            # Safety net only: the consumer dead-letters explicitly at max_deliveries.
            "x-delivery-limit": sub.max_deliveries + 5,
        }
        return await channel.declare_queue(sub.queue, durable=True, arguments=arguments)

    async def subscribe(self, subscription: Subscription, handler: Handler) -> _RabbitConsumer:
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=subscription.prefetch)
        queue = await self._declare(channel, subscription)

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            await _handle(incoming, subscription, handler)

        tag = await queue.consume(on_message)
        consumer = _RabbitConsumer(channel, queue, tag)
        self._consumers.append(consumer)
        return consumer

    async def dead_letter(self, subscription: Subscription, message: OutgoingMessage) -> None:
        assert subscription.queue is not None, "an exclusive queue has no dead-letter queue"
        # The direct exchange `_declare_durable` made, with the queue's name as the key.
        routed = OutgoingMessage(subscription.queue, message.body, message.message_id)
        await self._publisher.publish_batch(f"{subscription.exchange}.dead", [routed])

    async def queue_depth(self, queue: str) -> int:
        channel = await self._connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            await channel.close()

    async def ping(self) -> None:
        if self._connection.is_closed or self._channel.is_closed:
            raise ConnectionError("RabbitMQ connection is closed")
        channel = await asyncio.wait_for(self._connection.channel(), PING_TIMEOUT_S)
        await channel.close()

    async def close(self) -> None:
        # Bounded: with the broker unreachable, a close handshake would wait forever and a
        # SIGTERM'd process must still exit. The broker requeues whatever was unacked.
        await self._publisher.close()
        for consumer in self._consumers:
            try:
                await asyncio.wait_for(consumer.stop(), CLOSE_TIMEOUT_S)
            except Exception:
                log.warning("consumer_stop_failed", exc_info=True)
        try:
            await asyncio.wait_for(self._connection.close(), CLOSE_TIMEOUT_S)
        except Exception:
            log.warning("connection_close_failed", exc_info=True)


def _delivery_count(incoming: AbstractIncomingMessage) -> int:
    returned = (incoming.headers or {}).get("x-delivery-count")
    if isinstance(returned, int):
        return returned + 1
    return 2 if incoming.redelivered else 1


async def _handle(incoming: AbstractIncomingMessage, sub: Subscription, handler: Handler) -> None:
    message = Message(
        exchange=incoming.exchange or sub.exchange,
        routing_key=incoming.routing_key or "",
        body=incoming.body,
        message_id=incoming.message_id,
        headers=dict(incoming.headers or {}),
        delivery_count=_delivery_count(incoming),
    )
    try:
        await handler(message)
    except Exception:
        log.warning(
            "event_handler_failed",
            queue=sub.queue,
            exc_info=True,
            delivery_count=message.delivery_count,
        )
        dead = message.delivery_count >= max_deliveries(sub)
        await incoming.nack(requeue=not dead)
        return
    await incoming.ack()
