"""The ingest span: one CONSUMER span per usage message, child of the request that produced
its first event (the `traceparent` the router put on the message) and linked to the
requests of the batch's other events (aistrale_common.events.usage_batch)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from aistrale_common.events import Message
from aistrale_common.events.usage_batch import BATCH_HEADER, trace_links
from aistrale_common.tracing import extract, links


@contextmanager
def ingest_span(tracer: Tracer, message: Message, queue: str) -> Iterator[Span]:
    events = message.headers.get(BATCH_HEADER, 1)
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": "process",
        "messaging.operation.name": "ingest",
        "messaging.destination.name": message.exchange,
        "messaging.rabbitmq.destination.routing_key": message.routing_key,
        "messaging.consumer.group.name": queue,
        "messaging.batch.message_count": int(events) if isinstance(events, int) else 1,
        "messaging.message.id": message.message_id or "",
    }
    with tracer.start_as_current_span(
        f"process {message.exchange}",
        context=extract(message.headers),
        kind=SpanKind.CONSUMER,
        links=links(trace_links(message)),
        attributes=attributes,
    ) as span:
        yield span
