"""Any value in any field of a Messages body is either translated or refused with
InvalidRequest (a 400 in Anthropic's shape), never an exception that would be a 500: every
field of a good body is replaced, one at a time, by values of every JSON type. Likewise
any field of an upstream chat answer: the client still gets a Message."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_common.errors import InvalidRequest, UpstreamFailed
from aistrale_router.protocols.messages.protocol import MessagesProtocol, translated
from aistrale_router.streaming.sse import SseParser

EVENTS: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
ODD: list[Any] = [None, 3, -1, True, "x", "", [], [3], ["x"], {}, {"type": 3}, [{}]]
MESSAGES: dict[str, Any] = {
    "model": "m",
    "max_tokens": 5,
    "system": [{"type": "text", "text": "s"}],
    "stop_sequences": ["END"],
    "metadata": {"user_id": "u"},
    "tool_choice": {"type": "tool", "name": "f"},
    "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "t"},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "r"}],
                },
                {"type": "image", "source": {"type": "url", "url": "http://x/i.png"}},
            ],
        },
    ],
}
CHAT: dict[str, Any] = {
    "choices": [
        {
            "message": {
                "content": "hi",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
            },
            "finish_reason": "stop",
            "stop_reason": "END",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "prompt_tokens_details": {}},
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


@pytest.mark.parametrize("counting", [False, True], ids=["messages", "count_tokens"])
def test_every_odd_value_is_translated_or_refused(counting: bool) -> None:
    translated(MESSAGES, counting=counting)  # the good body itself translates
    crashed: list[str] = []
    for at in paths(MESSAGES):
        for odd in ODD:
            try:
                translated(replaced(MESSAGES, at, odd), counting=counting)
            except InvalidRequest:
                pass
            except Exception as exc:
                crashed.append(f"{at} = {odd!r}: {type(exc).__name__}: {exc}")
    assert not crashed, "\n".join(crashed)


async def test_an_odd_upstream_answer_still_translates() -> None:
    """Whatever an OpenAI-compatible server answered, the client gets a valid Message (the
    usage event is already metered by then): no field of it may raise."""
    protocol, inbound = MessagesProtocol(), translated(MESSAGES, counting=False)
    crashed: list[str] = []
    for at in paths(CHAT):
        for odd in ODD:
            body = orjson.dumps(replaced(CHAT, at, odd))
            try:
                answer = await protocol.answer(inbound, body, "req")
            except Exception as exc:
                crashed.append(f"{at} = {odd!r}: {type(exc).__name__}: {exc}")
                continue
            Message.model_validate_json(answer)  # as the anthropic SDK types it
    assert not crashed, "\n".join(crashed)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"'])
async def test_an_answer_that_is_no_json_object_is_a_502(body: bytes) -> None:
    inbound = translated(MESSAGES, counting=False)
    with pytest.raises(UpstreamFailed):
        await MessagesProtocol().answer(inbound, body, "req")


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


async def test_an_odd_upstream_chunk_still_translates() -> None:
    """A relayed chunk with any odd field still gives valid Anthropic events that end the
    stream (message_stop), never an exception mid-stream."""
    protocol, inbound = MessagesProtocol(), translated(MESSAGES, counting=False)
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
            assert out.endswith(b'data: {"type":"message_stop"}\n\n'), out
            for event in SseParser().feed(out):  # each one as the anthropic SDK types it
                EVENTS.validate_json(event.data)
    assert not crashed, "\n".join(crashed)
