"""Relay a provider's stream through its adapter's translator as OpenAI chunks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from aistrale_router.providers.base import StreamTranslator
from aistrale_router.upstream.client import UpstreamResponse
from aistrale_router.upstream.relay import StreamRelay, carries_tokens


class AdaptedRelay(StreamRelay):
    def __init__(
        self,
        response: UpstreamResponse,
        translator: StreamTranslator,
        *,
        hide_usage: bool,
        budget: Callable[[int], Awaitable[bool]] | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(response, hide_usage=hide_usage, budget=budget, model=model)
        self._translator = translator

    def _translate(self, raw: bytes) -> bytes:
        events = self._parser.feed(raw)
        return b"".join(self._encode(c) for e in events for c in self._translator.feed(e))

    def _tail(self) -> bytes:
        """At the provider's end of stream: without a finish reason for every choice the
        answer was cut (the caller sends the error event); the partial usage is kept."""
        if self._ends.incomplete():
            if self._translator.usage is not None:
                self.usage = self._translator.usage.as_openai()
            return b""
        chunks = b"".join(self._encode(c) for c in self._translator.finish())
        if self._translator.usage is not None:
            self.usage = self._translator.usage.as_openai()
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
