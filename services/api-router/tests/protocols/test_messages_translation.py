"""The Messages translation (protocols/messages/) on its own, every output checked against
the anthropic SDK's own types."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_common.errors import (
    AistraleError,
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    UpstreamFailed,
)
from aistrale_router.protocols.messages.answer import from_chat
from aistrale_router.protocols.messages.request import MessagesCall, chat_body
from aistrale_router.protocols.messages.stream import MessagesStream
from aistrale_router.providers.anthropic_errors import error_object

EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
CALL = MessagesCall("claude-x", ("###",))


def completion(finish: str, matched: Any = None, **message: Any) -> bytes:
    choice = {"index": 0, "finish_reason": finish, "stop_reason": matched,
              "message": {"role": "assistant", "content": "hi", **message}}  # fmt: skip
    usage = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    return orjson.dumps({"id": "c", "object": "chat.completion", "choices": [choice],
                         "usage": usage})  # fmt: skip


@pytest.mark.parametrize(
    ("finish", "matched", "reason", "sequence"),
    [
        ("stop", None, "end_turn", None),
        ("stop", "###", "stop_sequence", "###"),
        ("stop", "other", "end_turn", None),
        ("length", None, "max_tokens", None),
        ("tool_calls", None, "tool_use", None),
        ("content_filter", None, "refusal", None),
    ],
)
def test_stop_reasons(finish: str, matched: Any, reason: str, sequence: str | None) -> None:
    message = Message.model_validate(from_chat(CALL, completion(finish, matched)))
    assert (message.stop_reason, message.stop_sequence) == (reason, sequence)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 2)


def test_tool_calls_become_tool_use_blocks() -> None:
    calls = [{"id": "call_1", "type": "function",
              "function": {"name": "f", "arguments": '{"a": 1}'}}]  # fmt: skip
    message = Message.model_validate(from_chat(CALL, completion("tool_calls", tool_calls=calls)))
    assert [b.type for b in message.content] == ["text", "tool_use"]
    tool = message.content[1]
    assert tool.type == "tool_use" and (tool.id, tool.name, tool.input) == ("call_1", "f", {"a": 1})


def test_an_answer_that_is_not_a_completion_is_a_502() -> None:
    with pytest.raises(UpstreamFailed):
        from_chat(CALL, b'{"nope": 1}')


def test_blocks_images_tools_and_tool_results_translate() -> None:
    chat, call = chat_body({
        "model": "m", "max_tokens": 9, "system": "S", "stop_sequences": ["###"],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "AAA"}},
                {"type": "text", "text": "what?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "let me"},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"x": 1}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1",
                 "content": [{"type": "text", "text": "ok"}]},
                {"type": "text", "text": "and?"}]},
        ],
    })  # fmt: skip
    assert call == MessagesCall("m", ("###",))
    assert chat["stop"] == ["###"] and chat["max_tokens"] == 9
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    function = {"name": "f", "parameters": {"type": "object"}}
    assert chat["tools"] == [{"type": "function", "function": function}]
    assert chat["messages"] == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
            {"type": "text", "text": "what?"}]},
        {"role": "assistant", "content": "let me", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "and?"}]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 5}, "model"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": True, "messages": []}, "max_tokens"),
        ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "bot", "content": "x"}]},
         "messages.0.role"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image",
          "source": {"type": "file"}}]}]}, "messages.0.content.0.source"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
          "tool_choice": {"type": "tool"}}, "tool_choice"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
          "stop_sequences": [""]}, "stop_sequences"),
    ],
)  # fmt: skip
def test_bad_bodies_are_400s_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        chat_body(body)
    assert refused.value.param == param


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidRequest("x"), "invalid_request_error"),
        (AuthenticationFailed("x"), "authentication_error"),
        (PermissionDenied("x"), "permission_error"),
        (NotFound("x"), "not_found_error"),
        (RateLimited("x"), "rate_limit_error"),
        (UpstreamFailed("x"), "api_error"),
    ],
)
def test_errors_have_anthropics_shape(error: AistraleError, kind: str) -> None:
    assert error_object(error) == {"type": "error", "error": {"type": kind, "message": "x"}}


def sse(*chunks: dict[str, Any] | str) -> list[bytes]:
    return [b"data: " + (c.encode() if isinstance(c, str) else orjson.dumps(c)) + b"\n\n"
            for c in chunks]  # fmt: skip


async def translated(chunks: list[bytes]) -> list[dict[str, Any]]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    out = b"".join([part async for part in MessagesStream(CALL, source())])
    events = []
    for block in out.split(b"\n\n")[:-1]:
        kind, data = block.split(b"\n")
        event = orjson.loads(data[6:])
        assert kind == b"event: " + event["type"].encode()
        events.append(event)
    return events


def delta(d: dict[str, Any], finish: str | None = None, matched: Any = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": d, "finish_reason": finish, "stop_reason": matched}]}


async def test_a_stream_with_text_then_a_tool_is_two_blocks_and_sdk_valid() -> None:
    call = {"index": 0, "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}
    args = {"index": 0, "function": {"arguments": '{"a":1}'}}
    events = await translated(sse(
        delta({"content": "hi"}), delta({"tool_calls": [call]}), delta({"tool_calls": [args]}),
        delta({}, "tool_calls"), {"choices": [], "usage": {"prompt_tokens": 3,
                                                           "completion_tokens": 4}}, "[DONE]",
    ))  # fmt: skip
    for event in events:
        EVENT.validate_python(event)
    assert [e["type"] for e in events] == [
        "message_start", "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]  # fmt: skip
    assert events[4]["content_block"]["type"] == "tool_use" and events[4]["index"] == 1
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    assert events[-2]["usage"] == {"input_tokens": 3, "output_tokens": 4}


async def test_a_stop_sequence_is_named_in_the_stream() -> None:
    events = await translated(sse(delta({"content": "a"}), delta({}, "stop", "###"), "[DONE]"))
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "###"}


@pytest.mark.parametrize(
    "tail", [[], sse({"error": {"message": "upstream broke", "type": "server_error"}}, "[DONE]")]
)
async def test_a_broken_stream_ends_with_an_error_event(tail: list[bytes]) -> None:
    events = await translated(sse(delta({"content": "a"})) + tail)
    for event in events[:-1]:
        EVENT.validate_python(event)
    assert events[-1]["type"] == "error" and events[-1]["error"]["type"] == "api_error"
    assert "message_stop" not in [e["type"] for e in events]


HOSTILE: list[Any] = [None, 1, "x", [], [1], {}, {"type": 1}, [{"type": "text"}], True]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "field", ["system", "messages", "tools", "tool_choice", "stop_sequences", "stream"]
)
def test_hostile_values_are_400s_or_accepted_never_a_crash(field: str, value: Any) -> None:
    hi = [{"role": "user", "content": "x"}]
    body: dict[str, Any] = {"model": "m", "max_tokens": 5, "messages": hi, field: value}
    with contextlib.suppress(InvalidRequest):  # anything else (TypeError...) fails the test
        chat_body(body)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("role", ["user", "assistant"])
def test_hostile_content_blocks_are_400s(role: str, value: Any) -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": role, "content": [value]}]}
    with pytest.raises(InvalidRequest):
        chat_body(body)
