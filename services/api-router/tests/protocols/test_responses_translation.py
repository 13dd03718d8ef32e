"""The Responses translation without a process: each result validated with the SDK's types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from aistrale_common.errors import InvalidRequest, ServiceUnavailable, UpstreamFailed
from aistrale_router.protocols.responses.answer import from_chat
from aistrale_router.protocols.responses.items import chat_messages
from aistrale_router.protocols.responses.request import ResponsesCall, new_call
from aistrale_router.protocols.responses.stream import ResponsesStream

EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)


def call(**body: Any) -> ResponsesCall:
    made, _ = new_call({"model": "m", "input": "Hi", **body}, "org", None)
    return made


def chat(message: dict[str, Any], finish: str) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    return orjson.dumps({"id": "c", "choices": [choice], "usage": usage})


def test_a_length_finish_is_incomplete_for_max_output_tokens() -> None:
    response = Response.model_validate(from_chat(call(), chat({"content": "Hel"}, "length")))
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.total_tokens == 8


def test_text_and_tool_calls_become_output_items_in_order() -> None:
    tool = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = chat({"content": "Let me check.", "tool_calls": [tool]}, "tool_calls")
    response = Response.model_validate(from_chat(call(), body))
    assert [item.type for item in response.output] == ["message", "function_call"]
    assert response.output_text == "Let me check."


def test_items_become_chat_messages() -> None:
    items: list[dict[str, Any]] = [
        {"role": "developer", "content": [{"type": "input_text", "text": "Be kind."}]},
        {"role": "user", "content": [{"type": "input_image", "image_url": "https://x/i.png"}]},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "g", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "reasoning", "summary": []},
    ]
    messages = chat_messages(items)
    assert messages[0] == {"role": "system", "content": "Be kind."}
    assert messages[1]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://x/i.png"}}
    ]
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["a", "b"]
    assert messages[3] == {"role": "tool", "tool_call_id": "a", "content": "1"}
    assert len(messages) == 4


@pytest.mark.parametrize(
    "item",
    [{"type": "file_search_call"}, {"type": "function_call", "name": "f"}, {"role": "x"}],
)
def test_items_no_chat_backend_serves_are_refused(item: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        chat_messages([item])


async def _relayed(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _chunk(delta: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": delta}]}) + b"\n\n"


async def _events(stream: ResponsesStream) -> list[Any]:
    raw = b"".join([chunk async for chunk in stream])
    blocks = [b for b in raw.split(b"\n\n") if b]
    return [EVENT.validate_json(b.split(b"\ndata: ", 1)[1]) for b in blocks]


async def _nothing(_: dict[str, Any]) -> None:
    return None


async def test_a_stream_without_done_ends_failed() -> None:
    stream = ResponsesStream(call(), _relayed([_chunk({"content": "Hel"})]), _nothing)
    events = await _events(stream)
    assert [e.type for e in events][-2:] == ["error", "response.failed"]
    assert events[-1].response.error.code == "server_error"


async def test_the_shutdown_cut_is_a_failed_response() -> None:
    stream = ResponsesStream(call(), _relayed([]), _nothing)
    cut = stream.cut(ServiceUnavailable("The router is shutting down."))
    kinds = [EVENT.validate_json(b.split(b"\ndata: ", 1)[1]).type for b in cut.split(b"\n\n") if b]
    assert kinds == ["error", "response.failed"]


async def test_a_budget_stop_mid_stream_is_rate_limit_exceeded() -> None:
    quota = {"error": {"message": "The budget ran out.", "type": "insufficient_quota"}}
    relayed = [_chunk({"content": "Hel"}), b"data: " + orjson.dumps(quota) + b"\n\n"]
    events = await _events(ResponsesStream(call(), _relayed(relayed), _nothing))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "rate_limit_exceeded"
    assert events[-2].message == "The budget ran out."


async def test_a_chunk_that_cannot_be_translated_ends_failed() -> None:
    relayed = [_chunk({"content": "Hel"}), b'data: {"choices": [7]}\n\n']
    events = await _events(ResponsesStream(call(), _relayed(relayed), _nothing))
    assert [e.type for e in events][-2:] == ["error", "response.failed"]


@pytest.mark.parametrize(
    "body", [b"nope", b"{}", b'{"choices": [7]}', b'{"choices": [{"message": 1}]}']
)
def test_an_answer_that_is_not_a_chat_completion_is_a_502(body: bytes) -> None:
    with pytest.raises(UpstreamFailed):
        from_chat(call(), body)
