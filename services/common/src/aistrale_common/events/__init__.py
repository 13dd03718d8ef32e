"""The events port: topic exchanges on RabbitMQ, or an in-process bus."""

from aistrale_common.events.memory import MemoryEventBus
from aistrale_common.events.port import (
    Consumer,
    EventBus,
    Handler,
    Message,
    OutgoingMessage,
    Subscription,
    topic_matches,
)
from aistrale_common.events.rabbitmq import RabbitEventBus

__all__ = [
    "Consumer",
    "EventBus",
    "Handler",
    "MemoryEventBus",
    "Message",
    "OutgoingMessage",
    "RabbitEventBus",
    "Subscription",
    "open_event_bus",
    "topic_matches",
]


async def open_event_bus(amqp_url: str | None) -> EventBus:
    if amqp_url:
        return await RabbitEventBus.connect(amqp_url)
    return MemoryEventBus()
