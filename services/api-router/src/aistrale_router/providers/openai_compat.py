"""Adapters for providers that speak OpenAI's chat format natively: OpenAI, Groq and
HuggingFace (the inference router and TGI's Messages API).

The body goes upstream almost untouched; what differs per provider is where usage hides
(Groq's `x_groq.usage`, TGI's missing `prompt_tokens_details`), whether embeddings exist,
and how errors are worded — the latter handled once in `errors.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aistrale_common.errors import AistraleError, InvalidRequest, UpstreamFailed
from aistrale_router.providers.base import PreparedRequest, ProviderTarget
from aistrale_router.providers.errors import map_provider_error
from aistrale_router.providers.openai_format import (
    JSON_HEADERS,
    SSE_HEADERS,
    ChunkFactory,
    completion_id,
    dumps,
    loads_object,
    usage_from_openai,
)
from aistrale_router.streaming.sse import SseEvent
from aistrale_router.usage import Usage

OPENAI_SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority")
OPENAI_FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


@dataclass(slots=True)
class OpenAICompatibleAdapter:
    name: str
    has_embeddings: bool = True

    def chat_request(self, body: Mapping[str, Any], target: ProviderTarget) -> PreparedRequest:
        upstream = {**body, "model": target.model}
        if body.get("stream"):
            # Always ask for usage: metering needs it; the router hides the usage chunk
            # from clients that did not ask for it.
            upstream["stream_options"] = {**(body.get("stream_options") or {})}
            upstream["stream_options"]["include_usage"] = True
        headers = SSE_HEADERS if body.get("stream") else JSON_HEADERS
        return self._post(target, "/chat/completions", upstream, headers)

    def chat_response(self, body: bytes, target: ProviderTarget, request_id: str) -> dict[str, Any]:
        data = loads_object(body, self.name)
        if not isinstance(data.get("choices"), list):
            raise UpstreamFailed(f"{self.name} returned a completion without choices")
        usage = _usage(data)
        data = _clean(data, completion_id(request_id))
        data["usage"] = _full_usage(data.get("usage") or {}, usage)
        return data

    def stream_translator(
        self, target: ProviderTarget, request_id: str, model: str
    ) -> OpenAIStreamTranslator:
        return OpenAIStreamTranslator(self, request_id, model)

    def embeddings_request(
        self, body: Mapping[str, Any], target: ProviderTarget
    ) -> PreparedRequest:
        if not self.has_embeddings:
            raise InvalidRequest(f"{self.name} has no embeddings endpoint", param="model")
        upstream = {**body, "model": target.model}
        return self._post(target, "/embeddings", upstream, JSON_HEADERS)

    def embeddings_response(
        self, body: bytes, target: ProviderTarget, encoding_format: str | None = None
    ) -> dict[str, Any]:
        data = loads_object(body, self.name)
        usage = data.get("usage") or {}
        prompt = int(usage.get("prompt_tokens") or 0)
        data["usage"] = {"prompt_tokens": prompt, "total_tokens": prompt}
        return data

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        return map_provider_error(self.name, status, body, headers)

    def _post(
        self, target: ProviderTarget, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> PreparedRequest:
        all_headers = dict(headers)
        if target.api_key:
            all_headers["authorization"] = f"Bearer {target.api_key}"
        url = target.base_url.rstrip("/") + path
        return PreparedRequest("POST", url, all_headers, dumps(body))


def _clean(data: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    """Removes what would make the openai SDK reject our output: Groq's `service_tier`
    ("on_demand" is not one of OpenAI's values), TGI's empty `id`, and the TGI 2.x
    choice quirks fixed in `_clean_choice`."""
    if data.get("service_tier") not in OPENAI_SERVICE_TIERS:
        data.pop("service_tier", None)
    if not data.get("id"):
        data["id"] = fallback_id
    data.pop("x_groq", None)  # its usage has been read; the rest is Groq-internal
    for choice in data.get("choices") or []:
        if isinstance(choice, dict):
            _clean_choice(choice)
    return data


def _clean_choice(choice: dict[str, Any]) -> None:
    """TGI 2.x: finish_reason `eos_token`, `delta.tool_calls` as one object instead of a
    list, and tool call `arguments` as an object instead of a JSON string."""
    reason = choice.get("finish_reason")
    if reason is not None and reason not in OPENAI_FINISH_REASONS:
        choice["finish_reason"] = "length" if reason == "max_tokens" else "stop"
    message = choice.get("message") or choice.get("delta") or {}
    calls = message.get("tool_calls")
    if isinstance(calls, dict):
        calls = message["tool_calls"] = [calls]
    for call in calls or []:
        function = call.get("function") or {}
        if isinstance(function.get("arguments"), dict):
            function["arguments"] = json.dumps(function["arguments"], ensure_ascii=False)


def _full_usage(raw: Mapping[str, Any], usage: Usage) -> dict[str, Any]:
    """Ours, plus whatever else the provider reported (reasoning and audio token details)."""
    ours = usage.as_openai()
    details = {**(raw.get("prompt_tokens_details") or {}), **ours["prompt_tokens_details"]}
    return {**raw, **ours, "prompt_tokens_details": details}


def _usage(data: Mapping[str, Any]) -> Usage:
    """Groq reports usage under `x_groq.usage` in streams; everyone else under `usage`."""
    raw = data.get("usage") or (data.get("x_groq") or {}).get("usage")
    return usage_from_openai(raw)


class OpenAIStreamTranslator:
    """Chunks pass through; the usage is captured and re-emitted as the single last chunk."""

    def __init__(self, adapter: OpenAICompatibleAdapter, request_id: str, model: str) -> None:
        self._adapter = adapter
        self._factory = ChunkFactory(request_id, model)
        self._raw_usage: Mapping[str, Any] = {}
        self.usage: Usage | None = None

    def feed(self, event: SseEvent) -> list[dict[str, Any]]:
        if event.data.strip() == "[DONE]":
            return []
        chunk = loads_object(event.data, self._adapter.name)
        if "error" in chunk:  # an error after the 200 (OpenAI and TGI both do this)
            raise self._adapter.error(500, event.data.encode(), {})
        if chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage"):
            self.usage = _usage(chunk)
            self._raw_usage = chunk.get("usage") or chunk["x_groq"]["usage"]
        chunk = _clean(chunk, self._factory.id)
        chunk["usage"] = None
        if not chunk.get("choices"):
            return []  # the upstream usage-only chunk: ours comes from finish()
        # The usage chunk we add at the end must carry the same id and model as the rest.
        self._factory.id = str(chunk.get("id") or self._factory.id)
        self._factory.model = str(chunk.get("model") or self._factory.model)
        return [chunk]

    def finish(self) -> list[dict[str, Any]]:
        chunk = self._factory.usage(self.usage or Usage())
        chunk["usage"] = _full_usage(self._raw_usage, self.usage or Usage())
        return [chunk]
