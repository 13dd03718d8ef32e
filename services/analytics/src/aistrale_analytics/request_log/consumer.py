"""The body consumer: `body.v1.#` on the usage exchange into a durable queue of its own, each
body sealed then stored, acked after the commit; a body that can never be stored is
dead-lettered alone. Bodies come only from orgs that opted in: one transaction per body is
plenty (the usage consumer's group commit is for the hot volume)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from aistrale_analytics.request_log.service import RequestLogService
from aistrale_common.events import Consumer, EventBus, Message, OutgoingMessage, Subscription
from aistrale_common.events.request_body import BODY_BINDING, RequestBodyV1
from aistrale_common.events.usage_batch import each_event
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics

log = get_logger(__name__)


def body_subscription(exchange: str, queue: str) -> Subscription:
    """The router declares the same queue (its metering) so no body waits on us to exist."""
    return Subscription(exchange, (BODY_BINDING,), queue)


def decode(item: Any) -> RequestBodyV1:
    return RequestBodyV1.model_validate(item)  # a ValidationError is a ValueError


class BodyConsumer:
    def __init__(
        self,
        bus: EventBus,
        service: RequestLogService,
        metrics: ServiceMetrics,
        subscription: Subscription,
    ) -> None:
        self._bus = bus
        self._service = service
        self._subscription = subscription
        self._stored: Counter = metrics.counter(
            "request_bodies_total", "Request body events handled", ("outcome",)
        )
        self._consumer: Consumer | None = None

    async def handle(self, message: Message) -> None:
        await each_event(message, decode, self._store, self._reject)

    async def _store(self, body: RequestBodyV1) -> None:
        await self._service.store(body)
        self._stored.labels("stored").inc()

    async def _reject(self, message: OutgoingMessage, reason: str) -> None:
        await self._bus.dead_letter(self._subscription, message)
        self._stored.labels("malformed").inc()
        log.warning("request_body_dead_lettered", event_id=message.message_id, reason=reason)

    async def start(self) -> None:
        self._consumer = await self._bus.subscribe(self._subscription, self.handle)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
