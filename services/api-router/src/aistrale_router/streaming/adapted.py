"""Relay a provider's stream through its adapter's translator as OpenAI chunks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from aistrale_router.streaming.relay import StreamRelay, carries_tokens
from aistrale_router.streaming.sse import SseEvent
from aistrale_router.upstream.port import UpstreamResponse
from aistrale_router.usage import Usage
from aistrale_router.usage.value import clamped


class StreamTranslator(Protocol):
    """Turns a provider's SSE events into OpenAI `chat.completion.chunk` dicts."""

    usage: Usage | None

    def feed(self, event: SseEvent) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]:
        """Chunks still owed at the end of the stream (the usage chunk, for instance)."""
        ...


class AdaptedRelay(StreamRelay):
    def __init__(
        self,
        response: UpstreamResponse,
        translator: StreamTranslator,
        *,
        hide_usage: bool,
        budget: Callable[[int], Awaitable[bool]] | None = None,
        prompt_estimate: int = 0,
        model: str | None = None,
    ) -> None:
        super().__init__(
            response,
            hide_usage=hide_usage,
            budget=budget,
            prompt_estimate=prompt_estimate,
            model=model,
        )
        self._translator = translator

    def _translate(self, raw: bytes) -> bytes:
        events = self._parser.feed(raw)
        return b"".join(self._encode(c) for e in events for c in self._translator.feed(e))

    def _tail(self) -> bytes:
        """At the provider's end of stream: without a finish reason for every choice the
        answer was cut (the caller sends the error event); the partial usage is kept."""
        if self._ends.incomplete():
            if self._translator.usage is not None:
                self.usage = clamped(self._translator.usage)
            return b""
        chunks = b"".join(self._encode(c) for c in self._translator.finish())
        if self._translator.usage is not None:
            self.usage = clamped(self._translator.usage)
        self.finished = True
        return chunks + b"data: [DONE]\n\n"

    def _encode(self, chunk: dict[str, Any]) -> bytes:
        self._ends.note(chunk)
        if self._model is not None and "model" in chunk:
            chunk["model"] = self._model  # the catalog name, not the provider's
        if carries_tokens(chunk):
            self.token_chunks += 1
        elif chunk.get("usage") is not None and self._hide_usage:
            return b""
        if self._hide_usage and "usage" in chunk:
            chunk = {k: v for k, v in chunk.items() if k != "usage"}
        return b"data: " + orjson.dumps(chunk) + b"\n\n"
