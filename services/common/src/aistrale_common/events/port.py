"""What an event bus promises, whichever adapter backs it.

- `publish` returns only once the broker has the message (publisher confirm).
- A handler that returns acks its message; one that raises has it redelivered, and after
  `max_deliveries` tries the message goes to the queue's dead-letter queue.
- A named queue is durable and shared by consumers; `queue=None` gives each subscriber its
  own exclusive queue (every router replica sees every control event).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Message:
    exchange: str
    routing_key: str
    body: bytes
    message_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    delivery_count: int = 0


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    routing_key: str
    body: bytes
    message_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)


Handler = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    exchange: str
    binding_keys: tuple[str, ...]
    queue: str | None = None
    prefetch: int = 64
    max_deliveries: int = 5

    def dead_letter_queue(self) -> str | None:
        return f"{self.queue}.dead" if self.queue else None


def max_deliveries(subscription: Subscription) -> int:
    # Exclusive (classic) queues only know "redelivered": one retry, then the message is
    # dropped; durable (quorum) queues count deliveries and dead-letter.
    return subscription.max_deliveries if subscription.queue else 2


class Consumer(Protocol):
    async def stop(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, exchange: str, message: OutgoingMessage) -> None: ...

    async def publish_batch(self, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
        """All confirmed, or an exception (some may have been delivered: ids dedupe)."""
        ...

    async def declare(self, subscription: Subscription) -> None:
        """Create the exchange and (durable) queue with its bindings, without consuming."""
        ...

    async def subscribe(self, subscription: Subscription, handler: Handler) -> Consumer: ...

    async def dead_letter(self, subscription: Subscription, message: OutgoingMessage) -> None:
        """Puts one message straight into the subscription's dead-letter queue (a consumer
        that takes a batch apart dead-letters the one bad part, not the batch)."""
        ...

    async def queue_depth(self, queue: str) -> int: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


@lru_cache(maxsize=1024)
def _topic_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for word in pattern.split("."):
        if word == "#":
            parts.append(r"(?:[^.]+(?:\.[^.]+)*)?")
        elif word == "*":
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(word))
    regex = r"\.".join(parts)
    # "#" may also swallow its neighbouring dot: a.# matches "a".
    regex = regex.replace(r"\.(?:[^.]+(?:\.[^.]+)*)?", r"(?:\.[^.]+)*")
    regex = regex.replace(r"(?:[^.]+(?:\.[^.]+)*)?\.", r"(?:[^.]+\.)*")
    return re.compile(f"^{regex}$")


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic semantics: `*` is one word, `#` is zero or more words."""
    return _topic_regex(pattern).match(routing_key) is not None
