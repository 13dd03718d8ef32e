"""Keys' last-used time, from the usage events the router publishes anyway.

A durable queue of our own on the usage exchange; updates only move the time forward, so
redeliveries and out-of-order events are harmless. The lookup path stays read-only.
"""

from __future__ import annotations

from pydantic import ValidationError

from aistrale_common.db import Database
from aistrale_common.events import Consumer, EventBus, Message, Subscription
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.logging import get_logger
from aistrale_userorg.keys import repository as repo

log = get_logger(__name__)
QUEUE = "user-org.key-last-used"


async def consume_usage(db: Database, bus: EventBus, exchange: str, prefix: str) -> Consumer:
    async def on_usage(message: Message) -> None:
        try:
            event = UsageEventV1.model_validate_json(message.body)
        except ValidationError:
            log.warning("usage_event_invalid", message_id=message.message_id)
            return
        async with db.transaction() as session:
            await repo.touch(session, {event.key_id: event.occurred_at})

    subscription = Subscription(exchange, ("usage.v1.#",), queue=f"{prefix}{QUEUE}", prefetch=64)
    return await bus.subscribe(subscription, on_usage)
