"""The Messages translation over Anthropic's and Gemini's adapters: their recorded answers
and streams (providers/fixtures), as the adapters turn them into chat completions, become
Messages and events that validate against the anthropic SDK's types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_router.protocols.messages.answer import from_chat
from aistrale_router.protocols.messages.request import MessagesCall
from aistrale_router.protocols.messages.stream import MessagesStream
from aistrale_router.providers import ProviderTarget, default_registry
from aistrale_router.streaming.sse import SseParser

FIXTURES = Path(__file__).parent.parent / "providers" / "fixtures"
EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
TARGET = ProviderTarget("http://127.0.0.1:9/v1", "upstream-model", None)
CALL = MessagesCall("m", ())
CASES = [
    ("anthropic", "message_text.json", "stream_text.sse", "text", "end_turn"),
    ("anthropic", "message_tool_use.json", "stream_tool_use.sse", "tool_use", "tool_use"),
    ("gemini", "generate_text.json", "stream_text.sse", "text", "end_turn"),
    ("gemini", "generate_function_call.json", "stream_function_call.sse", "tool_use", "tool_use"),
]


@pytest.mark.parametrize(("provider", "answer", "stream", "kind", "reason"), CASES)
def test_a_whole_answer_becomes_a_message(
    provider: str, answer: str, stream: str, kind: str, reason: str
) -> None:
    translator = default_registry().translator(provider)
    chat = translator.chat_response((FIXTURES / provider / answer).read_bytes(), TARGET, "r")
    message = Message.model_validate(from_chat(CALL, orjson.dumps(chat)))
    assert kind in [b.type for b in message.content] and message.stop_reason == reason
    assert message.usage.output_tokens > 0


async def _chat_chunks(provider: str, stream: str) -> AsyncIterator[bytes]:
    translator = default_registry().translator(provider).stream_translator(TARGET, "r", "m")
    chunks: list[dict[str, Any]] = []
    for event in SseParser().feed((FIXTURES / provider / stream).read_bytes()):
        chunks.extend(translator.feed(event))
    chunks.extend(translator.finish())
    for chunk in chunks:
        yield b"data: " + orjson.dumps(chunk) + b"\n\n"
    yield b"data: [DONE]\n\n"


@pytest.mark.parametrize(("provider", "answer", "stream", "kind", "reason"), CASES)
async def test_a_stream_becomes_messages_events(
    provider: str, answer: str, stream: str, kind: str, reason: str
) -> None:
    raw = b"".join([c async for c in MessagesStream(CALL, _chat_chunks(provider, stream))])
    blocks = [b for b in raw.split(b"\n\n") if b]
    events = [EVENT.validate_json(b.split(b"\ndata: ", 1)[1]) for b in blocks]
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    started = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert kind in started
    last = events[-2]
    assert last.type == "message_delta" and last.delta.stop_reason == reason
    assert last.usage.output_tokens > 0
