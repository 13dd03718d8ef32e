"""Many usage events in one AMQP message (docs/decisions/foundation-usage-batches.md).

The broker and every consumer pay per message, not per byte: at a few hundred requests a
second one message per event cost RabbitMQ, analytics and user-org more CPU than the router.
So the router packs the events of one flush that share a routing key (one org, the contract's
`usage.v1.<org_id>`) into one message: a JSON array of v1 events, with the header
`x-usage-events` giving their number. A message without the header is one event, as before;
consumers take both. Idempotency stays per event (`event_id`); the message id of a batch is
only the batch's own. Trace context: `traceparent` is the first event's request, and
`x-usage-traceparents` the others' (the consumer's span links them).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson

from aistrale_common.events.port import Message, OutgoingMessage

BATCH_HEADER = "x-usage-events"
TRACEPARENT = "traceparent"  # aistrale_common.tracing's header, on the message too
TRACE_LINKS_HEADER = "x-usage-traceparents"
MAX_TRACE_LINKS = 64  # a header stays small: about 56 bytes each
T = TypeVar("T")


class UnreadableMessage(ValueError):
    """Not JSON, or not what the batch header says: nothing in it can be stored."""


def pack(messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    """One message per routing key, in first-seen order; a lone event stays as it is."""
    groups: dict[str, list[OutgoingMessage]] = {}
    for message in messages:
        groups.setdefault(message.routing_key, []).append(message)
    return [group[0] if len(group) == 1 else _batch(key, group) for key, group in groups.items()]


def _batch(routing_key: str, group: list[OutgoingMessage]) -> OutgoingMessage:
    body = b"[" + b",".join(m.body for m in group) + b"]"
    headers: dict[str, Any] = {BATCH_HEADER: len(group)}
    traces = list(dict.fromkeys(t for m in group if (t := m.headers.get(TRACEPARENT))))
    if traces:
        # The first event's trace is the message's parent; the others are linked to the
        # consumer's span (one span cannot have several parents).
        headers[TRACEPARENT] = traces[0]
        if len(traces) > 1:
            headers[TRACE_LINKS_HEADER] = " ".join(traces[1 : MAX_TRACE_LINKS + 1])
    return OutgoingMessage(routing_key, body, uuid.uuid4().hex, headers)


def trace_links(message: Message) -> list[str]:
    """The traceparents of a batch's other events (see `_batch`)."""
    value = message.headers.get(TRACE_LINKS_HEADER)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.split() if isinstance(value, str) else []


def unpack(message: Message) -> list[Any]:
    """The events a message carries, as parsed JSON values (each to be validated)."""
    try:
        parsed = orjson.loads(message.body)
    except orjson.JSONDecodeError as exc:
        raise UnreadableMessage(f"not JSON: {exc}") from exc
    if BATCH_HEADER not in message.headers:
        return [parsed]
    if not isinstance(parsed, list):
        raise UnreadableMessage("a usage batch must be a JSON array")
    return parsed


def single(item: Any, like: Message) -> OutgoingMessage:
    """One event of a batch as a message of its own (to dead-letter it alone)."""
    event_id = item.get("event_id") if isinstance(item, dict) else None
    return OutgoingMessage(like.routing_key, orjson.dumps(item), str(event_id or ""))


Decode = Callable[[Any], T]
Submit = Callable[[T], Awaitable[None]]
Reject = Callable[[OutgoingMessage, str], Awaitable[None]]


async def each_event(
    message: Message, decode: Decode[T], submit: Submit[T], reject: Reject
) -> None:
    """Hands every event the message carries to `submit`, all at once (so they join one
    group commit), and each one that can never be stored to `reject` with the reason: an
    event `decode` refuses (ValueError), or one `submit` failed on alone. Returns once every
    event is stored or rejected; a cancellation (the consumer stopping) goes through, and
    the broker delivers the message again."""
    try:
        items = unpack(message)
    except UnreadableMessage as exc:
        await reject(
            OutgoingMessage(message.routing_key, message.body, message.message_id), str(exc)
        )
        return
    decoded: list[tuple[Any, T]] = []
    for item in items:
        try:
            decoded.append((item, decode(item)))
        except ValueError as exc:
            await reject(single(item, message), f"not a usage event: {str(exc)[:200]}")
    results = await asyncio.gather(*(submit(event) for _, event in decoded), return_exceptions=True)
    for (item, _), result in zip(decoded, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, BaseException):
            await reject(single(item, message), f"refused: {str(result).splitlines()[0][:200]}")
