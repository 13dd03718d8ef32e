"""Relay an upstream SSE stream chunk by chunk, reading usage on the way.

Upstream is always asked for `stream_options.include_usage`; the extra usage chunk (no
choices) is dropped for clients that did not ask for it. Each event is parsed (orjson, under
a microsecond) to count the chunks that carry tokens; it is passed on as it came unless its
usage must be hidden.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from aistrale_common.errors import AistraleError, QuotaExceeded, UpstreamFailed, UpstreamTimeout
from aistrale_common.logging import get_logger
from aistrale_router.streaming.choice_ends import ChoiceEnds, incomplete_stream
from aistrale_router.streaming.sse import SseEvent, SseParser
from aistrale_router.upstream.port import UpstreamBroken, UpstreamResponse, UpstreamTimedOut
from aistrale_router.usage import Usage
from aistrale_router.usage.value import usage_from_openai

log = get_logger(__name__)
DONE = "[DONE]"
DONE_EVENT = b"data: [DONE]\n\n"


class StreamRelay:
    def __init__(
        self,
        response: UpstreamResponse,
        *,
        hide_usage: bool,
        budget: Callable[[int], Awaitable[bool]] | None = None,
        prompt_estimate: int = 0,
        model: str | None = None,
        clean: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self._response = response
        self._model = model  # the catalog name to echo, when upstream's name differs
        self._clean = clean  # strips special tokens from a chunk's text; True if it changed
        self._ends = ChoiceEnds()
        self._prompt_estimate = prompt_estimate
        self._hide_usage = hide_usage
        self._budget = budget  # completion tokens so far -> may the stream go on?
        self.usage: Usage | None = None  # as upstream reported it
        self.token_chunks = 0  # OpenAI-format servers send about one token per chunk
        self.first_chunk_at: float | None = None
        self.error: AistraleError | None = None
        # `finished`: the relay has produced the stream's `[DONE]` (the whole answer is in
        # what it yielded or is about to yield); `completed`: upstream has also ended.
        self.finished = False
        self.completed = False
        self._parser = SseParser()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """A stream that cannot go on ends with an error event and `[DONE]`, never by
        just stopping: clients (the openai SDK raises an APIError) must tell a cut
        answer from a whole one. The messages are fixed phrases; the cause is logged."""
        try:
            async for raw in self._response.chunks():
                out = self._translate(raw)
                if out:
                    if self.first_chunk_at is None:
                        self.first_chunk_at = time.perf_counter()
                    yield out
                if self._ends.cut_short:
                    yield self._failed(incomplete_stream())
                    return
                if self.finished:
                    continue  # the answer is whole: nothing left for the budget to stop
                if self._budget is not None and not await self._budget(self.token_chunks):
                    yield self._failed(QuotaExceeded("The budget ran out during this response."))
                    return
            tail = self._tail()
            if tail:
                yield tail
            if not self.finished:  # upstream closed without `[DONE]`
                if self._ends.incomplete():
                    yield self._failed(incomplete_stream())
                    return
                self.finished = True
                yield DONE_EVENT
            self.completed = True
        except UpstreamTimedOut:
            yield self._failed(UpstreamTimeout("The model stopped sending mid-stream."))
        except UpstreamBroken as exc:
            log.info("upstream_stream_broken", error=str(exc))
            yield self._failed(UpstreamFailed("The model's server broke off the stream."))
        except AistraleError as exc:  # a provider's own mid-stream error, translated
            yield self._failed(exc)
        except Exception:  # a chunk we could not translate: still an explicit end
            log.exception("stream_relay_failed")
            yield self._failed(AistraleError("The stream could not be relayed."))

    def final_usage(self) -> Usage:
        """What the stream used: upstream's count, else the router's own (the prompt
        estimate and one token per chunk that carried tokens)."""
        if self.usage is not None:
            return self.usage
        return Usage(self._prompt_estimate, self.token_chunks, estimated=True)

    def error_events(self, error: AistraleError) -> bytes:
        """The stream's last words when it cannot go on (here or at the shutdown cutoff):
        OpenAI's error event and `[DONE]`; a relay of another wire format has its own."""
        return error_event(error) + DONE_EVENT

    def _failed(self, error: AistraleError) -> bytes:
        self.error = error
        return self.error_events(error)

    def _translate(self, raw: bytes) -> bytes:
        return b"".join(self._relay(e) for e in self._parser.feed(raw))

    def _tail(self) -> bytes:
        return b""

    def _relay(self, event: SseEvent) -> bytes:
        data = event.data
        if data == DONE:
            if self._ends.incomplete():  # a bare `[DONE]`: the server gave up on the answer
                self._ends.cut_short = True
                return b""
            self.finished = True
            return DONE_EVENT
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return b"data: " + data.encode() + b"\n\n"
        if not isinstance(chunk, dict):
            return b"data: " + data.encode() + b"\n\n"
        if carries_tokens(chunk):
            self.token_chunks += 1
        self._ends.note(chunk)
        changed = self._rewrite(chunk)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_from_openai(usage)
            if self._hide_usage:  # the extra usage chunk, or continuous usage stats
                if not chunk.get("choices"):
                    return b""
                chunk.pop("usage")
                changed = True
        if changed:
            return b"data: " + orjson.dumps(chunk) + b"\n\n"
        return b"data: " + data.encode() + b"\n\n"

    def _rewrite(self, chunk: dict[str, Any]) -> bool:
        """The catalog name instead of upstream's, special tokens out: re-encoded only
        when something changed (the common case passes the bytes through)."""
        changed = False
        if self._model is not None and chunk.get("model", self._model) != self._model:
            chunk["model"] = self._model
            changed = True
        if self._clean is not None and self._clean(chunk):
            changed = True
        return changed


def carries_tokens(chunk: dict[str, Any]) -> bool:
    """Whether a chunk holds generated tokens: not the opening role chunk (`content: ""`),
    not a closing `delta: {}` with only a finish reason, not a usage chunk. Budgets and the
    fallback token count rely on it, so the opening chunk must not pass for a token."""
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return False
    return any(isinstance(c, dict) and _choice_has_tokens(c) for c in choices)


def _choice_has_tokens(choice: dict[str, Any]) -> bool:
    delta = choice.get("delta")
    if isinstance(delta, dict):  # chat: anything besides the role (content, tool calls, ...)
        return any(value for name, value in delta.items() if name != "role")
    return bool(choice.get("text"))  # completions


def error_event(error: AistraleError) -> bytes:
    """An OpenAI-shaped error as one SSE event: the openai SDK raises it as an APIError."""
    return b"data: " + orjson.dumps(error.body()) + b"\n\n"
