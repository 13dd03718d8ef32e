"""Chat-completions SSE -> Anthropic's streaming events, in Anthropic's order.

`message_start`; per content block `content_block_start`, `content_block_delta`...
(`text_delta` or `input_json_delta`), `content_block_stop`; then `message_delta` (stop
reason, usage) and `message_stop`. A stream that breaks off (the relay's OpenAI error
event, or no `[DONE]`) ends with Anthropic's `error` event, never silently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from aistrale_common.errors import AistraleError, UpstreamFailed
from aistrale_common.logging import get_logger
from aistrale_router.protocols.base import chat_events
from aistrale_router.protocols.messages.answer import (
    message_object,
    new_id,
    stop_reason,
    usage_object,
)
from aistrale_router.protocols.messages.request import MessagesCall
from aistrale_router.providers.anthropic_errors import error_event

log = get_logger(__name__)


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


class MessagesStream:
    def __init__(self, call: MessagesCall, chunks: AsyncIterator[bytes]) -> None:
        self._call, self._chunks = call, chunks
        self._index = -1  # the open block's index
        self._open: str | None = None  # "text" or "tool:<chat tool index>"
        self._finish: str | None = None
        self._matched: Any = None
        self._usage: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0}
        self._done = self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        start = message_object(self._call, [], None, None, dict(self._usage), new_id("msg"))
        yield sse("message_start", {"message": start})
        async for raw in self._chunks:
            try:
                out = [b for data in chat_events(raw) for b in self._on(data)]
            except Exception:  # a chunk we could not translate: still an explicit end
                log.exception("messages_stream_translation_failed")
                yield self.cut(UpstreamFailed("The stream could not be translated."))
                return
            if self._done and not self._ended:
                self._ended = True
                out.extend(self._finished())
            if out:
                yield b"".join(out)
            if self._ended:
                return
        if not self._ended:
            self._ended = True
            yield self.cut(UpstreamFailed("The model's server broke off the stream."))

    def cut(self, error: AistraleError) -> bytes:
        return error_event(error)

    def _on(self, data: bytes) -> list[bytes]:
        if data == b"[DONE]":
            self._done = True  # the usage chunk comes before it
            return []
        chunk = orjson.loads(data)
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk:
            self._ended = True
            return [_error_from(chunk["error"])]
        if isinstance(chunk.get("usage"), dict):
            self._usage = usage_object(chunk["usage"])
        out: list[bytes] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str) and delta["content"]:
                out.extend(self._text(delta["content"]))
            for tool in delta.get("tool_calls") or []:
                out.extend(self._tool(tool))
            if choice.get("finish_reason"):
                self._finish, self._matched = choice["finish_reason"], choice.get("stop_reason")
        return out

    def _text(self, text: str) -> list[bytes]:
        out = self._switch("text", {"type": "text", "text": ""})
        out.append(self._delta({"type": "text_delta", "text": text}))
        return out

    def _tool(self, tool: dict[str, Any]) -> list[bytes]:
        function = tool.get("function") or {}
        tool_id, name = tool.get("id"), function.get("name")
        block: dict[str, Any] = {"type": "tool_use",
                 "id": tool_id if isinstance(tool_id, str) and tool_id else new_id("toolu"),
                 "name": name if isinstance(name, str) else "", "input": {}}  # fmt: skip
        out = self._switch(f"tool:{tool.get('index', 0)}", block)
        if isinstance(function.get("arguments"), str) and function["arguments"]:
            out.append(self._delta({"type": "input_json_delta",
                                    "partial_json": function["arguments"]}))  # fmt: skip
        return out

    def _switch(self, which: str, block: dict[str, Any]) -> list[bytes]:
        """Opens `which` unless it is the open block (closing the one before)."""
        if self._open == which:
            return []
        out = self._close()
        self._index += 1
        self._open = which
        out.append(sse("content_block_start", {"index": self._index, "content_block": block}))
        return out

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        self._open = None
        return [sse("content_block_stop", {"index": self._index})]

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return sse("content_block_delta", {"index": self._index, "delta": delta})

    def _finished(self) -> list[bytes]:
        reason, sequence = stop_reason(self._finish, self._matched, self._call)
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        return [
            *self._close(),
            sse("message_delta", {"delta": delta, "usage": self._usage}),
            sse("message_stop", {}),
        ]


def _error_from(error: Any) -> bytes:
    message = error.get("message") if isinstance(error, dict) else None
    body = {"type": "api_error", "message": message or "The stream failed."}
    return sse("error", {"error": body})
