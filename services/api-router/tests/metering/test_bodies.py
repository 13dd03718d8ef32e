"""Body events of orgs that opted in: built from the usage event, kept out of the usage
binding, and durable like it — both survive the outbox together (its rows are keyed by
message id, so the body's must differ from its usage event's)."""

from __future__ import annotations

from collections.abc import Callable

from aistrale_common.db import Database
from aistrale_common.events import OutgoingMessage, topic_matches
from aistrale_common.events.request_body import MAX_BODY_BYTES, RequestBodyV1
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.key_lookup import KeyLookup
from aistrale_router.metering import USAGE_BINDING
from aistrale_router.metering.bodies import BodyRecorder
from aistrale_router.metering.outbox import UsageOutbox
from aistrale_router.metering.publisher import to_message

EventFactory = Callable[[int], UsageEventV1]


class Recorded:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def submit_message(self, message: OutgoingMessage) -> None:
        self.messages.append(message)


def _key(log_bodies: bool) -> KeyLookup:
    return KeyLookup(
        key_id="key-1",
        org_id="org-1",
        status="active",
        log_bodies=log_bodies,
        log_retention_days=5,
    )


def test_only_opted_in_orgs_get_a_body_event(event: EventFactory) -> None:
    sink = Recorded()
    recorder = BodyRecorder(sink)
    usage = event(1)
    recorder.record(_key(False), usage, b'{"prompt": 1}', b"answer")
    recorder.record(_key(True), usage, None, None)  # never sent upstream: nothing to keep
    assert sink.messages == []
    recorder.record(_key(True), usage, b"p" * (MAX_BODY_BYTES + 10), b"answer")
    [message] = sink.messages
    body = RequestBodyV1.model_validate_json(message.body)
    assert body.usage_event_id == usage.event_id and message.message_id != str(usage.event_id)
    assert body.prompt_truncated and len(body.prompt) == MAX_BODY_BYTES
    assert (body.completion, body.retention_days, body.request_id) == ("answer", 5, "req-1")
    assert not topic_matches(USAGE_BINDING, message.routing_key)  # no usage consumer sees it
    assert message.routing_key == "body.v1.org-1"


async def test_a_body_and_its_usage_event_both_survive_the_outbox(
    outbox_db: Database, event: EventFactory
) -> None:
    sink = Recorded()
    usage = event(2)
    BodyRecorder(sink).record(_key(True), usage, b"prompt", b"answer")
    outbox = UsageOutbox(outbox_db)
    await outbox.put([to_message(usage), *sink.messages])
    claim = await outbox.claim(10)
    assert sorted(m.routing_key for m in claim.messages) == ["body.v1.org-1", "usage.v1.org-1"]
