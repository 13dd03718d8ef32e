"""Request bodies of orgs that opted in (`log_bodies` in the key lookup): one
`RequestBodyV1` per request that reached a deployment, published through the usage
publisher (same journal and outbox: a body is never lost either) under its own routing key
(aistrale_common.events.request_body). Orgs that did not opt in cost one attribute read.

What is stored is what the router sent upstream (after its own input handling: a redaction
applied there is what analytics sees) and the answer the client received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from aistrale_common.events import OutgoingMessage
from aistrale_common.events.request_body import MAX_BODY_BYTES, RequestBodyV1, capped
from aistrale_common.events.schemas import UsageEventV1
from aistrale_router.keys.record import KeyRecord

DEFAULT_RETENTION_DAYS = 30  # user-org always sends one; this covers an older user-org


class MessageSink(Protocol):
    def submit_message(self, message: OutgoingMessage) -> None: ...


class BodyRecorder:
    def __init__(self, sink: MessageSink) -> None:
        self._sink = sink

    def record(
        self,
        key: KeyRecord,
        event: UsageEventV1,
        sent: bytes | None,
        answer: bytes | bytearray | None,
    ) -> None:
        if not key.log_bodies or sent is None:
            return
        body = body_event(key, event, sent, answer)
        self._sink.submit_message(
            OutgoingMessage(body.routing_key(), body.model_dump_json().encode(), str(body.event_id))
        )


async def captured(chunks: AsyncIterator[bytes], into: bytearray) -> AsyncIterator[bytes]:
    """A streamed answer as the client gets it (its SSE events), kept up to just past the
    cap (so that a cut shows). Each chunk is kept before it is handed on: the stream's
    metering, which runs as the last chunk is handed on, sees the whole answer."""
    async for chunk in chunks:
        if len(into) <= MAX_BODY_BYTES:
            into += chunk[: MAX_BODY_BYTES + 1 - len(into)]
        yield chunk


def body_event(
    key: KeyRecord, event: UsageEventV1, sent: bytes, answer: bytes | bytearray | None
) -> RequestBodyV1:
    prompt, prompt_cut = capped(sent)
    completion, completion_cut = capped(bytes(answer)) if answer is not None else (None, False)
    return RequestBodyV1(
        usage_event_id=event.event_id,
        occurred_at=event.occurred_at,
        request_id=event.request_id,
        org_id=event.org_id,
        key_id=event.key_id,
        region=event.region,
        retention_days=key.log_retention_days or DEFAULT_RETENTION_DAYS,
        prompt=prompt,
        prompt_truncated=prompt_cut,
        completion=completion,
        completion_truncated=completion_cut,
    )
