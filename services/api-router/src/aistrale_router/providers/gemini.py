"""Gemini `generateContent` / `streamGenerateContent` (SSE) / `batchEmbedContents`.

Usage: `promptTokenCount` already includes `cachedContentTokenCount`; thinking tokens
(`thoughtsTokenCount`) are billed as output, so they count as completion tokens. Each
streamed event repeats the running totals; the last one wins.
"""

from __future__ import annotations

import base64
import json
import struct
import uuid
from collections.abc import Mapping
from typing import Any

from aistrale_common.errors import AistraleError, InvalidRequest, UpstreamFailed
from aistrale_router.providers.base import PreparedRequest, ProviderTarget
from aistrale_router.providers.errors import map_provider_error
from aistrale_router.providers.gemini_request import SIGNATURE_MARK, generate_body
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

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def usage_of(raw: Mapping[str, Any] | None) -> Usage:
    raw = raw or {}
    return Usage(
        prompt_tokens=int(raw.get("promptTokenCount") or 0)
        + int(raw.get("toolUsePromptTokenCount") or 0),
        completion_tokens=int(raw.get("candidatesTokenCount") or 0)
        + int(raw.get("thoughtsTokenCount") or 0),
        cached_tokens=int(raw.get("cachedContentTokenCount") or 0),
    )


def finish_reason(raw: str | None, made_calls: bool) -> str:
    reason = FINISH_REASONS.get(str(raw), "stop")
    return "tool_calls" if made_calls and reason == "stop" else reason


def _call(part: Mapping[str, Any]) -> dict[str, Any]:
    """A `functionCall` part as an OpenAI tool call (Gemini ids are optional).

    Gemini wants a call's `thoughtSignature` back in the next turn (Gemini 3 refuses the
    turn without it) and OpenAI clients echo only the call id: so the id carries it.
    """
    call = part["functionCall"]
    call_id = str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}")
    if part.get("thoughtSignature"):
        call_id += SIGNATURE_MARK + str(part["thoughtSignature"])
    arguments = json.dumps(call.get("args") or {}, ensure_ascii=False)
    return tool_call(call_id, str(call.get("name", "")), arguments)


def _texts(parts: list[dict[str, Any]]) -> list[str]:
    # `thought` parts are the model's reasoning summary, not its answer.
    return [str(p["text"]) for p in parts if "text" in p and not p.get("thought")]


class GeminiAdapter:
    name = "gemini"

    def chat_request(self, body: Mapping[str, Any], target: ProviderTarget) -> PreparedRequest:
        stream = bool(body.get("stream"))
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        headers = dict(SSE_HEADERS if stream else JSON_HEADERS)
        return self._post(target, action, generate_body(body), headers)

    def chat_response(self, body: bytes, target: ProviderTarget, request_id: str) -> dict[str, Any]:
        data = loads_object(body, self.name)
        if "candidates" not in data and "promptFeedback" not in data:
            raise UpstreamFailed("gemini returned neither candidates nor prompt feedback")
        choices = [self._choice(i, c) for i, c in enumerate(data.get("candidates") or [])]
        if not choices:  # the prompt itself was blocked (promptFeedback.blockReason)
            choices = [message_choice(0, "", [], "content_filter")]
        model = str(data.get("modelVersion") or target.model)
        return completion(request_id, model, choices, usage_of(data.get("usageMetadata")))

    def _choice(self, position: int, candidate: Mapping[str, Any]) -> dict[str, Any]:
        parts = (candidate.get("content") or {}).get("parts") or []
        calls = [_call(p) for p in parts if "functionCall" in p]
        texts = _texts(parts)
        text = "".join(texts) if texts or not calls else None
        finish = finish_reason(candidate.get("finishReason"), bool(calls))
        return message_choice(int(candidate.get("index", position)), text, calls, finish)

    def stream_translator(
        self, target: ProviderTarget, request_id: str, model: str
    ) -> GeminiStreamTranslator:
        return GeminiStreamTranslator(request_id, model)

    def embeddings_request(
        self, body: Mapping[str, Any], target: ProviderTarget
    ) -> PreparedRequest:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise InvalidRequest(
                "gemini embeddings take a string or list of strings", param="input"
            )
        requests = [_embed_request(target.model, t, body.get("dimensions")) for t in texts]
        return self._post(target, "batchEmbedContents", {"requests": requests}, JSON_HEADERS)

    def embeddings_response(
        self, body: bytes, target: ProviderTarget, encoding_format: str | None = None
    ) -> dict[str, Any]:
        data = loads_object(body, self.name)
        vectors = [e.get("values") or [] for e in data.get("embeddings") or []]
        if not vectors:
            raise UpstreamFailed("gemini returned no embeddings")
        items = [_embedding(i, v, encoding_format) for i, v in enumerate(vectors)]
        # The Gemini API reports no token counts for embeddings; metered as 0 tokens.
        tokens = int((data.get("usageMetadata") or {}).get("promptTokenCount") or 0)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": items, "model": target.model, "usage": usage}

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        return map_provider_error(self.name, status, body, headers)

    def _post(
        self, target: ProviderTarget, action: str, body: dict[str, Any], headers: dict[str, str]
    ) -> PreparedRequest:
        if target.api_key:
            headers = {**headers, "x-goog-api-key": target.api_key}
        url = f"{_api_root(target.base_url)}/models/{target.model}:{action}"
        return PreparedRequest("POST", url, headers, dumps(body))


def _api_root(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith(("/v1beta", "/v1")) else base + "/v1beta"


def _embed_request(model: str, text: str, dimensions: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"model": f"models/{model}", "content": {"parts": [{"text": text}]}}
    if dimensions is not None:
        request["outputDimensionality"] = int(dimensions)
    return request


def _embedding(index: int, values: list[float], encoding_format: str | None) -> dict[str, Any]:
    vector: Any = values
    if encoding_format == "base64":  # what the openai SDK asks for by default
        vector = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    return {"object": "embedding", "index": index, "embedding": vector}


class GeminiStreamTranslator:
    """Each SSE event is a whole GenerateContentResponse holding the newest parts."""

    def __init__(self, request_id: str, model: str) -> None:
        self._chunks = ChunkFactory(request_id, model)
        self._started: set[int] = set()
        self._calls: dict[int, int] = {}  # candidate index -> tool calls emitted so far
        self.usage: Usage | None = None

    def feed(self, event: SseEvent) -> list[dict[str, Any]]:
        data = loads_object(event.data, "gemini")
        if "error" in data:
            status = int(data["error"].get("code") or 500)
            raise map_provider_error("gemini", status, event.data.encode(), {})
        if data.get("usageMetadata"):
            self.usage = usage_of(data["usageMetadata"])
        self._chunks.model = str(data.get("modelVersion") or self._chunks.model)
        out: list[dict[str, Any]] = []
        for position, candidate in enumerate(data.get("candidates") or []):
            out.extend(self._candidate(int(candidate.get("index", position)), candidate))
        return out

    def finish(self) -> list[dict[str, Any]]:
        return [self._chunks.usage(self.usage or Usage())]

    def _candidate(self, index: int, candidate: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = []
        if index not in self._started:
            self._started.add(index)
            out.append(self._chunks.delta({"role": "assistant", "content": ""}, index))
        parts = (candidate.get("content") or {}).get("parts") or []
        text = "".join(_texts(parts))
        if text:
            out.append(self._chunks.delta({"content": text}, index))
        for part in parts:
            if "functionCall" in part:
                out.append(self._tool_delta(index, part))
        if candidate.get("finishReason"):
            reason = finish_reason(candidate["finishReason"], self._calls.get(index, 0) > 0)
            out.append(self._chunks.finish(reason, index))
        return out

    def _tool_delta(self, index: int, part: Mapping[str, Any]) -> dict[str, Any]:
        position = self._calls.get(index, 0)
        self._calls[index] = position + 1
        return self._chunks.delta({"tool_calls": [{"index": position, **_call(part)}]}, index)
