"""Anthropic Messages to an `anthropic` deployment: the client's own body goes up and the
answer comes back as Anthropic sent it, with no chat translation in between, so what chat
has no words for (`thinking`, `top_k`, `cache_control`, server tools, documents, images in
a tool result, cache-write tokens) reaches the model and the client.

Only the model name (the deployment's up, the one the client asked for back) and a
max_tokens the budget lowered change. Usage is read from Anthropic's own fields, so the
prompt counts cache reads and writes (providers/anthropic.py `usage_of`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from aistrale_common.errors import AistraleError, UpstreamFailed
from aistrale_router.providers.anthropic import API_VERSION, messages_url, usage_of
from aistrale_router.providers.anthropic_errors import error_event
from aistrale_router.providers.base import (
    Answer,
    Budget,
    NativeBody,
    Outbound,
    PreparedRequest,
    ProviderTarget,
)
from aistrale_router.providers.errors import map_provider_error
from aistrale_router.streaming.choice_ends import ChoiceEnds
from aistrale_router.streaming.relay import StreamRelay
from aistrale_router.streaming.sse import SseEvent
from aistrale_router.upstream.port import UpstreamResponse
from aistrale_router.usage import Usage

JSON = "application/json"
# The client's headers that travel with its body: the API version it was written for,
# and the beta features it asked for (both change what the body means).
FORWARDED_HEADERS: tuple[str, ...] = ("anthropic-version", "anthropic-beta")
# Events whose delta is generated output: about one token each, for the budget's check
# while the stream runs (the exact count comes in `message_delta`).
_TOKEN_DELTAS = frozenset({"text_delta", "input_json_delta", "thinking_delta", "citations_delta"})
_TOKEN_DELTA = re.compile(
    rb'"type":\s*"(?:' + b"|".join(re.escape(d.encode()) for d in sorted(_TOKEN_DELTAS)) + rb')"'
)
# Events named so by their `event:` line that carry nothing the relay reads but a delta type.
_AS_IS = frozenset({"content_block_delta", "content_block_stop", "ping"})


class AnthropicNativeAdapter:
    name = "anthropic"
    byok = True

    def prepare(
        self, request: Outbound, target: ProviderTarget, max_tokens: int | None
    ) -> PreparedRequest:
        native = _native(request)
        body = {**native.body, "model": target.model}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        headers = {
            "content-type": JSON,
            "accept": "text/event-stream" if native.body.get("stream") is True else JSON,
            "accept-encoding": "identity",
            "anthropic-version": native.headers.get("anthropic-version", API_VERSION),
        }
        if "anthropic-beta" in native.headers:
            headers["anthropic-beta"] = native.headers["anthropic-beta"]
        if target.api_key:
            headers["x-api-key"] = target.api_key
        return PreparedRequest("POST", messages_url(target.base_url), headers, orjson.dumps(body))

    def complete(
        self, body: bytes, content_type: str | None, request: Outbound, target: ProviderTarget,
        request_id: str,
    ) -> Answer:  # fmt: skip
        message = _message(body)
        message["model"] = request.model  # the name the client asked for, as translated
        return Answer(orjson.dumps(message), JSON, usage_of(message["usage"]))

    def relay(
        self, response: UpstreamResponse, request: Outbound, target: ProviderTarget,
        request_id: str, *, hide_usage: bool, budget: Budget | None,
    ) -> StreamRelay:  # fmt: skip
        return NativeMessagesRelay(
            response, budget=budget, prompt_estimate=request.prompt_estimate, model=request.model
        )

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        return map_provider_error(self.name, status, body, headers)


def _native(request: Outbound) -> NativeBody:
    native = request.native
    assert native is not None, "the registry picks this adapter only for a native body"
    return native


def _message(body: bytes) -> dict[str, Any]:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamFailed("anthropic returned a body that is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise UpstreamFailed("anthropic returned a message without content")
    if not isinstance(message.get("usage"), dict):
        raise UpstreamFailed("anthropic returned a message without usage")
    return message


class MessageEnds(ChoiceEnds):
    """An Anthropic stream is whole once `message_stop` came (it has no choices)."""

    __slots__ = ("stopped",)

    def __init__(self) -> None:
        super().__init__()
        self.stopped = False

    def incomplete(self) -> bool:
        return not self.stopped


class NativeMessagesRelay(StreamRelay):
    """Anthropic's events as they came (the model name in `message_start` excepted),
    counted on the way: usage from `message_start` and `message_delta`, a token per
    generated delta for the budget. A failure ends the stream with Anthropic's `error`
    event, never by just stopping."""

    def __init__(
        self,
        response: UpstreamResponse,
        *,
        budget: Budget | None,
        prompt_estimate: int,
        model: str,
    ) -> None:
        super().__init__(
            response, hide_usage=False, budget=budget, prompt_estimate=prompt_estimate, model=model
        )
        self._ends = self._message_ends = MessageEnds()
        self._raw_usage: dict[str, Any] = {}

    def error_events(self, error: AistraleError) -> bytes:
        return error_event(error)

    def final_usage(self) -> Usage:
        """Anthropic's count; for a stream cut before its final `message_delta`, at least
        one token per generated delta relayed."""
        usage = super().final_usage()
        if self._message_ends.stopped or usage.estimated:
            return usage
        return replace(usage, completion_tokens=max(usage.completion_tokens, self.token_chunks))

    def _translate(self, raw: bytes) -> bytes:
        return b"".join(self._pass(e) for e in self._parser.feed(raw))

    def _pass(self, event: SseEvent) -> bytes:
        if event.event in _AS_IS and not self._message_ends.stopped:
            return self._as_is(event)
        data = orjson.loads(event.data) if event.data else {}
        if not isinstance(data, dict):
            raise UpstreamFailed("anthropic sent a stream event that is not an object")
        kind = str(data.get("type") or event.event or "")
        if kind == "error":  # overloaded_error, api_error: mapped, then ended as ours
            raise map_provider_error("anthropic", 500, event.data.encode(), {})
        if self._message_ends.stopped:
            return b""  # nothing belongs after message_stop
        if kind == "message_start" and isinstance(data.get("message"), dict):
            self._count(data["message"].get("usage"))
            data["message"]["model"] = self._model
            return _event(kind, orjson.dumps(data))
        if kind == "content_block_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("type") in _TOKEN_DELTAS:
                self.token_chunks += 1
        elif kind == "message_delta":
            self._count(data.get("usage"))
        elif kind == "message_stop":
            self._message_ends.stopped = self.finished = True
        return _event(kind, event.data.encode())

    def _as_is(self, event: SseEvent) -> bytes:
        """Most of a stream is deltas: passed on unparsed (the client's SDK reads them),
        counted by their delta type for the budget."""
        data = event.data.encode()
        if event.event == "content_block_delta" and _TOKEN_DELTA.search(data):
            self.token_chunks += 1
        return _event(str(event.event), data)

    def _count(self, raw: Any) -> None:
        """`message_start` has the input side, `message_delta` the output (and lately the
        input again): a field absent or null keeps its last value."""
        if isinstance(raw, dict):
            self._raw_usage.update({k: v for k, v in raw.items() if v is not None})
            self.usage = usage_of(self._raw_usage)


def _event(kind: str, data: bytes) -> bytes:
    lines = b"".join(b"data: " + line + b"\n" for line in data.split(b"\n"))
    return b"event: " + kind.encode() + b"\n" + lines + b"\n"
