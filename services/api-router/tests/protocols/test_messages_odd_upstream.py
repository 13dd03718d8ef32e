"""Whatever an OpenAI-compatible server answered, a Messages client gets an SDK-valid
Message or a clear error (an AistraleError: a 502 in Anthropic's shape, still metered),
never a crash that would be a 500; a relayed chunk with any odd field still gives
SDK-valid Anthropic events that end the stream. Every field of a good answer and of a good
chunk is replaced, one at a time, by values of every JSON type."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_common.errors import AistraleError
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.base import Inbound
from aistrale_router.protocols.messages.protocol import MessagesProtocol
from aistrale_router.streaming.sse import SseParser

EVENTS: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
ODD: list[Any] = [None, 3, -1, True, "x", "", [], [3], ["x"], {}, {"type": 3}, [{}]]
KEY = KeyRecord(key_id="k", org_id="o", status="active")
BODY = orjson.dumps(
    {
        "model": "m",
        "max_tokens": 5,
        "stop_sequences": ["END"],
        "messages": [{"role": "user", "content": "hi"}],
    }
)
ANSWER: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "hi",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
            },
            "finish_reason": "stop",
            "stop_reason": "END",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2},
}
CHUNK: dict[str, Any] = {
    "choices": [
        {
            "index": 0,
            "delta": {
                "content": "hi",
                "tool_calls": [
                    {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{"}}
                ],
            },
            "finish_reason": "stop",
            "stop_reason": "END",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2},
}


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if at:
        yield at
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths(inner, (*at, index))


def replaced(body: dict[str, Any], at: tuple[Any, ...], odd: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for step in at[:-1]:
        target = target[step]
    target[at[-1]] = odd
    return changed


async def _inbound(protocol: MessagesProtocol) -> Inbound:
    return await protocol.parse(BODY, KEY, {})


async def test_an_odd_upstream_answer_is_a_message_or_a_clear_error() -> None:
    protocol = MessagesProtocol()
    inbound = await _inbound(protocol)
    crashed: list[str] = []
    for at in paths(ANSWER):
        for odd in ODD:
            body = orjson.dumps(replaced(ANSWER, at, odd))
            try:
                answer = await protocol.answer(inbound, body, "req")
            except AistraleError:
                continue
            except Exception as exc:
                crashed.append(f"{at} = {odd!r}: {type(exc).__name__}: {exc}")
                continue
            Message.model_validate_json(answer)  # as the anthropic SDK types it
    assert not crashed, "\n".join(crashed)


async def test_an_odd_upstream_chunk_still_ends_the_stream_in_valid_events() -> None:
    protocol = MessagesProtocol()
    inbound = await _inbound(protocol)
    crashed: list[str] = []
    for at in paths(CHUNK):
        for odd in ODD:
            chunks = [b"data: " + orjson.dumps(replaced(CHUNK, at, odd)) + b"\n\n"]

            async def relayed(parts: list[bytes] = chunks) -> AsyncIterator[bytes]:
                for part in [*parts, b"data: [DONE]\n\n"]:
                    yield part

            try:
                out = b"".join([e async for e in protocol.stream(inbound, relayed(), "req")])
            except Exception as exc:
                crashed.append(f"{at} = {odd!r}: {type(exc).__name__}: {exc}")
                continue
            events = SseParser().feed(out)
            assert events and events[-1].event in ("message_stop", "error"), out
            for event in events:
                if event.event != "error":  # the error event is not a RawMessageStreamEvent
                    EVENTS.validate_json(event.data)
    assert not crashed, "\n".join(crashed)
