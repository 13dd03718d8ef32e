"""Relay an upstream SSE stream chunk by chunk, reading usage on the way.

Upstream is always asked for `stream_options.include_usage`; the extra usage chunk (no
choices) is dropped for clients that did not ask for it. Only events that mention "usage"
are parsed; every other event is passed on as it came.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from aistrale_common.errors import AistraleError, QuotaExceeded, UpstreamFailed, UpstreamTimeout
from aistrale_router.sse import SseEvent, SseParser
from aistrale_router.upstream.client import UpstreamBroken, UpstreamResponse, UpstreamTimedOut

DONE = "[DONE]"


class StreamRelay:
    def __init__(
        self,
        response: UpstreamResponse,
        *,
        hide_usage: bool,
        budget: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        self._response = response
        self._hide_usage = hide_usage
        self._budget = budget  # completion tokens so far -> may the stream go on?
        self.usage: dict[str, Any] | None = None
        self.content_chunks = 0  # OpenAI-format servers send about one token per chunk
        self.first_chunk_at: float | None = None
        self.error: AistraleError | None = None
        self.completed = False
        self._parser = SseParser()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for raw in self._response.chunks():
                out = self._translate(raw)
                if out:
                    if self.first_chunk_at is None:
                        self.first_chunk_at = time.perf_counter()
                    yield out
                if self._budget is not None and not await self._budget(self.content_chunks):
                    self.error = QuotaExceeded("The budget ran out during this response.")
                    yield _error_event(self.error)
                    return
            tail = self._tail()
            if tail:
                yield tail
            self.completed = True
        except UpstreamTimedOut:
            self.error = UpstreamTimeout("The model stopped sending mid-stream.")
            yield _error_event(self.error)
        except UpstreamBroken as exc:
            self.error = UpstreamFailed(f"Upstream stream broke: {exc}")
            yield _error_event(self.error)

    def _translate(self, raw: bytes) -> bytes:
        return b"".join(self._relay(e) for e in self._parser.feed(raw))

    def _tail(self) -> bytes:
        return b""

    def _relay(self, event: SseEvent) -> bytes:
        data = event.data
        if data == DONE:
            return b"data: [DONE]\n\n"
        if '"usage"' in data:
            kept = self._read_usage(data)
            if kept is None:
                return b""
            data = kept
        else:
            self.content_chunks += 1
        return b"data: " + data.encode() + b"\n\n"

    def _read_usage(self, data: str) -> str | None:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return data
        usage = chunk.get("usage") if isinstance(chunk, dict) else None
        if not isinstance(usage, dict):
            self.content_chunks += 1
            return data
        self.usage = usage
        if not chunk.get("choices"):
            return None if self._hide_usage else data
        self.content_chunks += 1
        if self._hide_usage:  # continuous usage stats on a content chunk: not for this client
            chunk.pop("usage")
            return orjson.dumps(chunk).decode()
        return data


def _error_event(error: AistraleError) -> bytes:
    return b"data: " + orjson.dumps(error.body()) + b"\n\n"
