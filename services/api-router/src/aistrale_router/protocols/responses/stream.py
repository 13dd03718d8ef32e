"""Chat-completions SSE -> Responses streaming events, in OpenAI's order.

`response.created`, `response.in_progress`; per output item `response.output_item.added`,
then for text `response.content_part.added`, `response.output_text.delta`...,
`response.output_text.done`, `response.content_part.done` (for a tool call
`response.function_call_arguments.delta`..., `.done`), `response.output_item.done`; last
`response.completed` (or `response.incomplete`) with usage. A stream that breaks off (the
relay's OpenAI error event, or no `[DONE]`) ends with `error` and `response.failed`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from aistrale_common.errors import AistraleError, UpstreamFailed
from aistrale_common.logging import get_logger
from aistrale_router.protocols.base import chat_events
from aistrale_router.protocols.responses.answer import (
    call_item,
    message_item,
    response_object,
    usage_object,
)
from aistrale_router.protocols.responses.request import ResponsesCall, new_id

log = get_logger(__name__)
Event = dict[str, Any]
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


class _Text:
    def __init__(self, index: int) -> None:
        self.index, self.id = index, new_id("msg")
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)


class ResponsesStream:
    """Iterated once; `saved` is called with the finished Response object before
    `response.completed` leaves (the store), so a retrieved id always exists."""

    def __init__(
        self,
        call: ResponsesCall,
        chunks: AsyncIterator[bytes],
        saved: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self._call, self._chunks, self._saved = call, chunks, saved
        self._seq = 0
        self._output: list[dict[str, Any]] = []  # finished items, by output_index
        self._text: _Text | None = None
        self._tools: dict[int, dict[str, Any]] = {}  # chat tool index -> open item
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._done = False  # upstream's `[DONE]` arrived
        self._ended = False  # the last event is out (completed or failed)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._lifecycle("response.created") + self._lifecycle("response.in_progress")
        async for raw in self._chunks:
            try:
                out = [b for event in chat_events(raw) for b in self._on(event)]
            except Exception:  # a chunk we could not translate: still an explicit end
                log.exception("responses_stream_translation_failed")
                yield self._failed(UpstreamFailed("The stream could not be translated."))
                return
            if self._done and not self._ended:
                self._ended = True
                out.append(await self._complete())
            if out:
                yield b"".join(out)
            if self._ended:
                return
        if not self._ended:
            yield self._failed(UpstreamFailed("The model's server broke off the stream."))
        self._ended = True

    def cut(self, error: AistraleError) -> bytes:
        return self._failed(error)

    # -- one chat event --------------------------------------------------------------------

    def _on(self, data: bytes) -> list[bytes]:
        if data == b"[DONE]":
            self._done = True  # the usage chunk comes before it
            return []
        chunk = orjson.loads(data)
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk:
            self._ended = True
            return [self._failed_from(chunk["error"])]
        if isinstance(chunk.get("usage"), dict):
            self._usage = usage_object(chunk["usage"])
        out: list[bytes] = []
        for choice in chunk.get("choices") or []:
            out.extend(self._on_choice(choice))
        return out

    def _on_choice(self, choice: dict[str, Any]) -> list[bytes]:
        delta = choice.get("delta") or {}
        out: list[bytes] = []
        if delta.get("content"):
            out.extend(self._on_text(delta["content"]))
        for call in delta.get("tool_calls") or []:
            out.extend(self._on_tool(call))
        if choice.get("finish_reason"):
            self._finish = choice["finish_reason"]
        return out

    def _on_text(self, delta: str) -> list[bytes]:
        out: list[bytes] = []
        if self._text is None:
            out.extend(self._close_tools())
            self._text = text = _Text(self._next_index())
            out.append(self._item_event("response.output_item.added", text.index,
                                        _open_message(text.id)))  # fmt: skip
            out.append(self._event("response.content_part.added", **_part(text, "")))
        text = self._text
        text.parts.append(delta)
        out.append(self._event("response.output_text.delta", **_at(text), delta=delta, logprobs=[]))
        return out

    def _on_tool(self, call: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        index = call.get("index", 0)
        function = call.get("function") or {}
        item = self._tools.get(index)
        if item is None:
            out.extend(self._close_text())
            item = call_item(call.get("id") or new_id("call"), function.get("name") or "", "")
            item["status"], item["output_index"] = "in_progress", self._next_index()
            self._tools[index] = item
            out.append(self._item_event("response.output_item.added", item["output_index"],
                                        _public(item)))  # fmt: skip
        arguments = function.get("arguments") or ""
        if arguments:
            item["arguments"] += arguments
            out.append(self._event("response.function_call_arguments.delta", item_id=item["id"],
                                   output_index=item["output_index"], delta=arguments))  # fmt: skip
        return out

    # -- closing items and the response ----------------------------------------------------

    def _close_text(self) -> list[bytes]:
        text, self._text = self._text, None
        if text is None:
            return []
        done = message_item(text.text, text.id)
        self._output.append(done)
        return [
            self._event("response.output_text.done", **_at(text), text=text.text, logprobs=[]),
            self._event("response.content_part.done", **_part(text, text.text)),
            self._item_event("response.output_item.done", text.index, done),
        ]

    def _close_tools(self) -> list[bytes]:
        out: list[bytes] = []
        for item in self._tools.values():
            item["status"] = "completed"
            done = _public(item)
            self._output.append(done)
            out.append(self._event("response.function_call_arguments.done", item_id=item["id"],
                                   output_index=item["output_index"],
                                   arguments=item["arguments"]))  # fmt: skip
            out.append(self._item_event("response.output_item.done", item["output_index"], done))
        self._tools = {}
        return out

    async def _complete(self) -> bytes:
        out = self._close_text() + self._close_tools()
        incomplete = _INCOMPLETE.get(self._finish or "")
        status = "incomplete" if incomplete else "completed"
        response = response_object(
            self._call, status, self._output, self._usage, incomplete=incomplete
        )
        await self._saved(response)
        kind = "response.incomplete" if incomplete else "response.completed"
        return b"".join(out) + self._event(kind, response=response)

    def _failed(self, error: AistraleError) -> bytes:
        return self._failed_from(error.body()["error"])

    def _failed_from(self, error: Any) -> bytes:
        error = error if isinstance(error, dict) else {}
        message = str(error.get("message") or "The stream could not be completed.")
        code = (
            "rate_limit_exceeded" if error.get("type") == "insufficient_quota" else "server_error"
        )
        self._ended = True
        failed = response_object(
            self._call, "failed", self._output, self._usage,
            error={"code": code, "message": message},
        )  # fmt: skip
        return self._event(
            "error", code=error.get("code"), message=message, param=error.get("param")
        ) + self._event("response.failed", response=failed)

    # -- encoding ------------------------------------------------------------------------

    def _next_index(self) -> int:
        return len(self._output) + (self._text is not None) + len(self._tools)

    def _lifecycle(self, kind: str) -> bytes:
        return self._event(kind, response=response_object(self._call, "in_progress", [], None))

    def _item_event(self, kind: str, index: int, item: dict[str, Any]) -> bytes:
        return self._event(kind, output_index=index, item=item)

    def _event(self, kind: str, **fields: Any) -> bytes:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _open_message(item_id: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress",
            "content": []}  # fmt: skip


def _at(text: _Text) -> dict[str, Any]:
    return {"item_id": text.id, "output_index": text.index, "content_index": 0}


def _part(text: _Text, value: str) -> dict[str, Any]:
    part = {"type": "output_text", "text": value, "annotations": [], "logprobs": []}
    return {**_at(text), "part": part}


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "output_index"}
