"""Anthropic Messages API: requests, responses and the SSE event types, both ways.

Usage: Anthropic's `input_tokens` excludes cache reads and writes; OpenAI's
`prompt_tokens` includes them. So prompt = input + cache_read + cache_creation and
cached = cache_read, in both the streamed and the non-streamed path (one function).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aistrale_common.errors import AistraleError, InvalidRequest, UpstreamFailed
from aistrale_router.providers.anthropic_request import messages_body
from aistrale_router.providers.base import PreparedRequest, ProviderTarget
from aistrale_router.providers.errors import map_provider_error
from aistrale_router.providers.openai_format import (
    JSON_HEADERS,
    SSE_HEADERS,
    ChunkFactory,
    completion,
    dumps,
    loads_object,
    message_choice,
    tool_call,
)
from aistrale_router.streaming.sse import SseEvent
from aistrale_router.usage import Usage
from aistrale_router.usage.value import clamped, token_count

API_VERSION = "2023-06-01"
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def usage_of(raw: Mapping[str, Any] | None) -> Usage:
    """Anthropic's usage object; what is not a number counts as 0 (a server's word)."""
    raw = raw or {}
    parts = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    return clamped(
        Usage(
            prompt_tokens=sum(token_count(raw.get(k)) for k in parts),
            completion_tokens=token_count(raw.get("output_tokens")),
            cached_tokens=token_count(raw.get("cache_read_input_tokens")),
        )
    )


class AnthropicAdapter:
    name = "anthropic"

    def chat_request(self, body: Mapping[str, Any], target: ProviderTarget) -> PreparedRequest:
        upstream = messages_body(body, target.model)
        headers = {**(SSE_HEADERS if body.get("stream") else JSON_HEADERS)}
        headers["anthropic-version"] = API_VERSION
        if target.api_key:
            headers["x-api-key"] = target.api_key
        return PreparedRequest("POST", messages_url(target.base_url), headers, dumps(upstream))

    def chat_response(self, body: bytes, target: ProviderTarget, request_id: str) -> dict[str, Any]:
        message = loads_object(body, self.name)
        if not isinstance(message.get("content"), list):
            raise UpstreamFailed("anthropic returned a message without content")
        text: list[str] = []
        calls: list[dict[str, Any]] = []
        for block in message.get("content") or []:
            if block.get("type") == "text":
                text.append(str(block.get("text", "")))
            elif block.get("type") == "tool_use":
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
                calls.append(tool_call(str(block["id"]), str(block["name"]), arguments))
        finish = FINISH_REASONS.get(str(message.get("stop_reason")), "stop")
        choice = message_choice(0, "".join(text) if text or not calls else None, calls, finish)
        model = str(message.get("model") or target.model)
        return completion(request_id, model, [choice], usage_of(message.get("usage")))

    def stream_translator(
        self, target: ProviderTarget, request_id: str, model: str
    ) -> AnthropicStreamTranslator:
        return AnthropicStreamTranslator(request_id, model)

    def embeddings_request(
        self, body: Mapping[str, Any], target: ProviderTarget
    ) -> PreparedRequest:
        raise InvalidRequest("anthropic has no embeddings endpoint", param="model")

    def embeddings_response(
        self, body: bytes, target: ProviderTarget, encoding_format: str | None = None
    ) -> dict[str, Any]:
        raise InvalidRequest("anthropic has no embeddings endpoint", param="model")

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        return map_provider_error(self.name, status, body, headers)


def messages_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return (base if base.endswith("/v1") else base + "/v1") + "/messages"


class AnthropicStreamTranslator:
    """message_start / content_block_* / message_delta / message_stop -> OpenAI chunks."""

    def __init__(self, request_id: str, model: str) -> None:
        self._chunks = ChunkFactory(request_id, model)
        self._tool_index: dict[int, int] = {}  # content block index -> OpenAI tool call index
        self._raw_usage: dict[str, Any] = {}
        self.usage: Usage | None = None

    def feed(self, event: SseEvent) -> list[dict[str, Any]]:
        data = loads_object(event.data, "anthropic") if event.data else {}
        kind = str(data.get("type") or event.event or "")
        if kind == "error":  # mid-stream failure (overloaded_error, api_error)
            raise map_provider_error("anthropic", 500, event.data.encode(), {})
        handler = getattr(self, "_on_" + kind, None)
        return list(handler(data)) if handler is not None else []  # ping, future types

    def finish(self) -> list[dict[str, Any]]:
        return [self._chunks.usage(self.usage or Usage())]

    def _merge_usage(self, raw: Mapping[str, Any] | None) -> None:
        """message_start has the input side; message_delta the running output count (and,
        lately, the input side again). A field absent or null keeps its last value."""
        self._raw_usage.update({k: v for k, v in (raw or {}).items() if v is not None})
        self.usage = usage_of(self._raw_usage)

    def _on_message_start(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        message = data.get("message") or {}
        self._merge_usage(message.get("usage"))
        self._chunks.model = str(message.get("model") or self._chunks.model)  # as non-streamed
        return [self._chunks.delta({"role": "assistant", "content": ""})]

    def _on_content_block_start(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        block = data.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return [self._chunks.delta({"content": block["text"]})]
        if block.get("type") != "tool_use":
            return []
        index = len(self._tool_index)
        self._tool_index[int(data.get("index", 0))] = index
        call = tool_call(str(block.get("id")), str(block.get("name")), "")
        return [self._chunks.delta({"tool_calls": [{"index": index, **call}]})]

    def _on_content_block_delta(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [self._chunks.delta({"content": str(delta.get("text", ""))})]
        if delta.get("type") == "input_json_delta":
            index = self._tool_index.get(int(data.get("index", 0)), 0)
            arguments = {"arguments": str(delta.get("partial_json", ""))}
            return [self._chunks.delta({"tool_calls": [{"index": index, "function": arguments}]})]
        return []  # thinking and signature deltas have no OpenAI counterpart

    def _on_message_delta(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._merge_usage(data.get("usage"))
        reason = (data.get("delta") or {}).get("stop_reason")
        if reason is None:
            return []
        return [self._chunks.finish(FINISH_REASONS.get(str(reason), "stop"))]
