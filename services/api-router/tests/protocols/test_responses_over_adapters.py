"""The Responses translation over Anthropic's and Gemini's adapters: their recorded answers
and streams, as the adapters turn them into chat completions, become Responses objects and
events that validate against the openai SDK's types (no per-provider code in between)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from aistrale_router.protocols.responses.answer import from_chat
from aistrale_router.protocols.responses.request import ResponsesCall, new_call
from aistrale_router.protocols.responses.stream import ResponsesStream
from aistrale_router.providers import ProviderTarget, default_registry
from aistrale_router.streaming.sse import SseParser

FIXTURES = Path(__file__).parent.parent / "providers" / "fixtures"
EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
TARGET = ProviderTarget("http://127.0.0.1:9/v1", "upstream-model", None)
CASES = [
    ("anthropic", "message_text.json", "stream_text.sse", "message"),
    ("anthropic", "message_tool_use.json", "stream_tool_use.sse", "function_call"),
    ("gemini", "generate_text.json", "stream_text.sse", "message"),
    ("gemini", "generate_function_call.json", "stream_function_call.sse", "function_call"),
]


def _call() -> ResponsesCall:
    made, _ = new_call({"model": "m", "input": "Hi"}, "org", None)
    return made


@pytest.mark.parametrize(("provider", "answer", "stream", "kind"), CASES)
def test_a_whole_answer_becomes_a_response(
    provider: str, answer: str, stream: str, kind: str
) -> None:
    translator = default_registry().translator(provider)
    chat = translator.chat_response((FIXTURES / provider / answer).read_bytes(), TARGET, "r")
    response = Response.model_validate(from_chat(_call(), orjson.dumps(chat)))
    assert response.status == "completed" and kind in [i.type for i in response.output]
    assert response.usage is not None and response.usage.output_tokens > 0


async def _chat_chunks(provider: str, stream: str) -> AsyncIterator[bytes]:
    translator = default_registry().translator(provider).stream_translator(TARGET, "r", "m")
    chunks: list[dict[str, Any]] = []
    for event in SseParser().feed((FIXTURES / provider / stream).read_bytes()):
        chunks.extend(translator.feed(event))
    chunks.extend(translator.finish())
    for chunk in chunks:
        yield b"data: " + orjson.dumps(chunk) + b"\n\n"
    yield b"data: [DONE]\n\n"


async def _saved(_: dict[str, Any]) -> None:
    return None


@pytest.mark.parametrize(("provider", "answer", "stream", "kind"), CASES)
async def test_a_stream_becomes_responses_events(
    provider: str, answer: str, stream: str, kind: str
) -> None:
    relayed = ResponsesStream(_call(), _chat_chunks(provider, stream), _saved)
    raw = b"".join([chunk async for chunk in relayed])
    blocks = [b for b in raw.split(b"\n\n") if b]
    events = [EVENT.validate_json(b.split(b"\ndata: ", 1)[1]) for b in blocks]
    assert [e.type for e in events][:2] == ["response.created", "response.in_progress"]
    last = events[-1]
    assert last.type == "response.completed"
    assert kind in [item.type for item in last.response.output]
    assert last.response.usage is not None and last.response.usage.output_tokens > 0
