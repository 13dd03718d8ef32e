"""A fake Anthropic Messages API for tests: Anthropic's wire format, built from the anthropic
SDK's own types (so what it sends is what the SDK parses), no network.

`POST /v1/messages` answers whole or streamed (`message_start`, `ping`, per block
`content_block_start`/`_delta`/`_stop`, `message_delta` with usage, `message_stop`). A
request with `thinking` gets a thinking block (with its signature) before the text; one
whose `max_tokens` is below the reply's length stops at `max_tokens`; `cache_control`
anywhere in the body reports cache reads and writes. The upstream model `claude-overloaded`
answers 529; a last user text containing STREAM_ERROR gets an `error` event mid-stream,
CUT_STREAM a stream that stops before `message_stop`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from anthropic.types import (
    Message,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

WORDS = ["Hello", " from", " fake", " Anthropic", "."]
THOUGHT = "The user greets me; I greet back."
SIGNATURE = "c2lnbmF0dXJl"
INPUT_TOKENS = 11
CACHE_READ, CACHE_WRITE = 5, 7


@dataclass
class FakeAnthropic:
    api_key: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])

    async def _messages(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if request.headers.get("x-api-key") != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if body.get("model") == "claude-overloaded":
            return _error(529, "overloaded_error", "Overloaded")
        message = answer(body)
        if body.get("stream"):
            return StreamingResponse(_stream(message, _last_text(body)), 200,
                                     media_type="text/event-stream")  # fmt: skip
        return Response(orjson.dumps(message.model_dump(mode="json")), 200,
                        media_type="application/json")  # fmt: skip


def answer(body: dict[str, Any]) -> Message:
    """The whole answer to a body, as the SDK's own type."""
    words = WORDS[: body["max_tokens"]]
    stop = "max_tokens" if len(words) < len(WORDS) else "end_turn"
    content: list[dict[str, Any]] = [{"type": "text", "text": "".join(words)}]
    if body.get("thinking"):
        content.insert(0, {"type": "thinking", "thinking": THOUGHT, "signature": SIGNATURE})
    cached = b"cache_control" in orjson.dumps(body)
    usage = {
        "input_tokens": INPUT_TOKENS,
        "output_tokens": len(words) + (3 if body.get("thinking") else 0),
        "cache_read_input_tokens": CACHE_READ if cached else 0,
        "cache_creation_input_tokens": CACHE_WRITE if cached else 0,
    }
    return Message.model_validate(
        {
            "id": f"msg_{uuid.uuid4().hex[:20]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
    )


async def _stream(message: Message, prompt: str) -> AsyncIterator[bytes]:
    start = message.model_copy(update={"content": [], "stop_reason": None})
    start.usage = start.usage.model_copy(update={"output_tokens": 1})
    yield _sse(RawMessageStartEvent(type="message_start", message=start))
    yield b'event: ping\ndata: {"type": "ping"}\n\n'
    for index, block in enumerate(message.content):
        opened = block.model_copy(update={"thinking": "", "signature": ""}
                                  if block.type == "thinking" else {"text": ""})  # fmt: skip
        start_event = {"type": "content_block_start", "index": index, "content_block": opened}
        yield _sse(RawContentBlockStartEvent.model_validate(start_event))
        for delta in _deltas(block.model_dump()):
            event = {"type": "content_block_delta", "index": index, "delta": delta}
            yield _sse(RawContentBlockDeltaEvent.model_validate(event))
            if "STREAM_ERROR" in prompt:
                await asyncio.sleep(0.05)  # the events before it reach the client first
                yield b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'  # noqa: E501
                return
        yield _sse(RawContentBlockStopEvent(type="content_block_stop", index=index))
    if "CUT_STREAM" in prompt:
        return
    delta = {"type": "message_delta", "delta": {"stop_reason": message.stop_reason,
             "stop_sequence": None}, "usage": message.usage.model_dump()}  # fmt: skip
    yield _sse(RawMessageDeltaEvent.model_validate(delta))
    yield _sse(RawMessageStopEvent(type="message_stop"))


def _deltas(block: dict[str, Any]) -> list[dict[str, Any]]:
    if block["type"] == "thinking":
        return [{"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]}]  # fmt: skip
    words = [block["text"][i : i + 6] for i in range(0, len(block["text"]), 6)]
    return [{"type": "text_delta", "text": w} for w in words]


def _sse(event: Any) -> bytes:
    data = orjson.dumps(event.model_dump(mode="json"))
    kind: str = event.type
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def _last_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content if isinstance(b, dict))


def _error(status: int, kind: str, message: str) -> Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Response(orjson.dumps(body), status, media_type="application/json")
