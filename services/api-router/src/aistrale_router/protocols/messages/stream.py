"""The chat SSE stream as Anthropic's Messages events, in Anthropic's order: message_start,
then per content block content_block_start / _delta... / _stop, then message_delta (stop
reason, usage) and message_stop. A stream cut short ends with an `error` event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from aistrale_common.errors import AistraleError
from aistrale_router.protocols.chat import (
    ChatChunk,
    chat_chunks,
    first_choice,
    obj,
    objects,
    text_of,
    tokens,
)
from aistrale_router.protocols.messages.answer import error_body, message_id, stop_reason


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class MessagesStream:
    """Iterated once (protocols/base.py TranslatedStream); `cut` continues the stream it
    ends, so an open message gets its `error` event, never a second message_start."""

    def __init__(self, chunks: AsyncIterator[bytes], model: str, stops: list[str]) -> None:
        self._chunks = chunks
        self._model = model
        self._stops = stops
        self._started = False
        self._block: int | None = None  # the open content block's index
        self._blocks = 0
        self._block_kind: str | None = None  # "text" or "tool:<chat tool index>"
        self._finish: Any = None
        self._matched: Any = None
        self._usage: Any = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for event in chat_chunks(self._chunks):
            out = self._on(event)
            if out:
                yield out

    def cut(self, error: AistraleError) -> bytes:
        return self.failed(error.status, error.message)

    def _on(self, event: ChatChunk) -> bytes:
        head = self._start()
        if event.error is not None:
            message = str(event.error.get("message", "The stream failed."))
            return head + self.failed(_status(event.error), message)
        if event.done:
            return head + self._end()
        chunk = event.chunk or {}
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        choice = first_choice(chunk)
        if choice.get("finish_reason") is not None:
            self._finish, self._matched = choice["finish_reason"], choice.get("stop_reason")
        return head + self._delta(obj(choice.get("delta")))

    def failed(self, status: int, message: str) -> bytes:
        return self._start() + sse("error", error_body(status, message))

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        message: dict[str, Any] = {
            "id": message_id(),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return sse("message_start", {"type": "message_start", "message": message})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        out = b""
        if text_of(delta.get("content")):
            out += self._open("text", {"type": "text", "text": ""})
            text = {"type": "text_delta", "text": delta["content"]}
            out += self._block_delta(text)
        for call in objects(delta.get("tool_calls")):
            out += self._tool(call)
        return out

    def _tool(self, call: dict[str, Any]) -> bytes:
        function = obj(call.get("function"))
        kind = f"tool:{call.get('index', 0)}"
        out = b""
        if kind != self._block_kind:
            use: dict[str, Any] = {
                "type": "tool_use",
                "id": text_of(call.get("id")) or message_id(),
                "input": {},
            }
            out += self._open(kind, {**use, "name": text_of(function.get("name"))})
        if text_of(function.get("arguments")):
            part = {"type": "input_json_delta", "partial_json": function["arguments"]}
            out += self._block_delta(part)
        return out

    def _open(self, kind: str, block: dict[str, Any]) -> bytes:
        if kind == self._block_kind:
            return b""
        out = self._close()
        self._block, self._block_kind = self._blocks, kind
        self._blocks += 1
        start = {"type": "content_block_start", "index": self._block, "content_block": block}
        return out + sse("content_block_start", start)

    def _block_delta(self, delta: dict[str, Any]) -> bytes:
        event = {"type": "content_block_delta", "index": self._block, "delta": delta}
        return sse("content_block_delta", event)

    def _close(self) -> bytes:
        if self._block is None:
            return b""
        index, self._block, self._block_kind = self._block, None, None
        return sse("content_block_stop", {"type": "content_block_stop", "index": index})

    def _end(self) -> bytes:
        reason, sequence = stop_reason(self._finish, self._matched, self._stops)
        usage = {
            "input_tokens": tokens(self._usage, "prompt_tokens"),
            "output_tokens": tokens(self._usage, "completion_tokens"),
        }
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        closing = sse("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
        return self._close() + closing + sse("message_stop", {"type": "message_stop"})


def _status(error: dict[str, Any]) -> int:
    """The relay's OpenAI error code, as the status its Anthropic type is picked by."""
    code = error.get("code")
    if code in ("insufficient_quota", "rate_limit_exceeded"):
        return 429
    if code == "service_unavailable":
        return 503
    return 500
