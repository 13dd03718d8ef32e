"""Usage batches: one message per org per flush, taken apart by the consumers event by event."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from aistrale_common.events import Message, OutgoingMessage
from aistrale_common.events.usage_batch import BATCH_HEADER, each_event, pack, unpack


def event(i: int, org: str) -> OutgoingMessage:
    body = orjson.dumps({"event_id": f"e{i}", "org_id": org, "n": i})
    return OutgoingMessage(f"usage.v1.{org}", body, f"e{i}")


def delivered(message: OutgoingMessage) -> Message:
    return Message("usage", message.routing_key, message.body, message.message_id, message.headers)


def test_one_message_per_org_in_order_and_a_lone_event_as_it_was() -> None:
    sent = [event(0, "a"), event(1, "b"), event(2, "a"), event(3, "a")]
    packed = pack(sent)
    assert [m.routing_key for m in packed] == ["usage.v1.a", "usage.v1.b"]
    assert packed[0].headers == {BATCH_HEADER: 3}
    assert [item["n"] for item in unpack(delivered(packed[0]))] == [0, 2, 3]
    assert packed[1] == sent[1]  # one event: the message it always was
    assert unpack(delivered(packed[1])) == [orjson.loads(sent[1].body)]


async def test_each_event_is_submitted_and_only_the_bad_ones_are_rejected() -> None:
    items = [{"event_id": "ok1"}, {"event_id": "bad"}, {"event_id": "refused"}, {"event_id": "ok2"}]
    body = orjson.dumps(items)
    message = Message("usage", "usage.v1.a", body, "batch", {BATCH_HEADER: 4})
    stored: list[str] = []
    rejected: list[tuple[str | None, str]] = []

    def decode(item: object) -> str:
        assert isinstance(item, dict)
        if item["event_id"] == "bad":
            raise ValueError("no such field")
        return str(item["event_id"])

    async def submit(event_id: str) -> None:
        if event_id == "refused":
            raise RuntimeError("the database refused it\nwith its statement")
        stored.append(event_id)

    async def reject(alone: OutgoingMessage, reason: str) -> None:
        rejected.append((alone.message_id, reason))

    await each_event(message, decode, submit, reject)
    assert stored == ["ok1", "ok2"]
    assert rejected == [
        ("bad", "not a usage event: no such field"),
        ("refused", "refused: the database refused it"),
    ]


async def test_an_unreadable_message_is_rejected_whole_and_a_cancellation_goes_through() -> None:
    rejected: list[bytes] = []

    async def reject(alone: OutgoingMessage, reason: str) -> None:
        rejected.append(alone.body)

    async def never(_: object) -> None:
        await asyncio.Event().wait()

    await each_event(Message("usage", "k", b"{not json", "m"), str, never, reject)
    assert rejected == [b"{not json"]
    task = asyncio.ensure_future(each_event(Message("usage", "k", b"{}", "m"), str, never, reject))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
