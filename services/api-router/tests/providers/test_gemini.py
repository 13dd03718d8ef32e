"""Gemini adapter: OpenAI request in, generateContent request out (checked with
google-genai's models, which forbid unknown fields), recorded responses and streams back
to OpenAI's types, and embeddings."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from google.genai import types as gemini_types
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from aistrale_common.errors import InvalidRequest, RateLimited
from aistrale_router.providers import ProviderTarget, Usage, default_registry
from aistrale_router.providers.gemini import GeminiAdapter
from aistrale_router.streaming.sse import SseEvent

TARGET = ProviderTarget(
    "https://generativelanguage.googleapis.com", "gemini-2.5-flash", "AIza-test-key"
)
JPEG = "data:image/jpeg;base64,/9j/4AAQSkZJRg=="
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
                "additionalProperties": False,
            },
        },
    }
]
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                 {"type": "image_url", "image_url": {"url": JPEG}}]},
    {"role": "assistant", "content": "A cat."},
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"location\": \"Paris\"}"}},
        {"id": "call_2", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"location\": \"Rome\"}"}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\": 18}"},
    {"role": "tool", "tool_call_id": "call_2", "content": "24C"},
]  # fmt: skip


def _request(stream: bool = False, **extra: Any) -> tuple[str, dict[str, Any]]:
    body = {"model": "g", "messages": CONVERSATION, "stream": stream, **extra}
    prepared = GeminiAdapter().chat_request(body, TARGET)
    assert prepared.headers["x-goog-api-key"] == "AIza-test-key"
    assert "AIza-test-key" not in prepared.url
    return prepared.url, json.loads(prepared.body)


def _valid(body: dict[str, Any]) -> None:
    """Every part of the REST body against google-genai's models (extra fields forbidden)."""
    for content in body["contents"]:
        gemini_types.Content.model_validate(content)
    gemini_types.Content.model_validate(body["systemInstruction"])
    gemini_types.GenerationConfig.model_validate(body.get("generationConfig", {}))
    for tool in body.get("tools", []):
        gemini_types.Tool.model_validate(tool)
    gemini_types.ToolConfig.model_validate(body.get("toolConfig", {}))
    known = {"contents", "systemInstruction", "generationConfig", "tools", "toolConfig"}
    assert set(body) <= known


def test_registry_has_gemini() -> None:
    assert isinstance(default_registry().translator("gemini"), GeminiAdapter)


def test_request_translation() -> None:
    url, body = _request(
        tools=TOOLS, tool_choice="auto", max_tokens=64, temperature=0.2, stop=["END"], seed=7
    )
    _valid(body)
    base = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
    assert url == base + ":generateContent"
    assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user", "model", "user"]
    assert body["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}
    }
    calls = [p["functionCall"] for p in body["contents"][3]["parts"]]
    assert calls == [
        {"name": "get_weather", "args": {"location": "Paris"}},
        {"name": "get_weather", "args": {"location": "Rome"}},
    ]
    responses = [p["functionResponse"] for p in body["contents"][4]["parts"]]
    assert responses == [
        {"name": "get_weather", "response": {"temp_c": 18}},
        {"name": "get_weather", "response": {"content": "24C"}},
    ]
    config = body["generationConfig"]
    assert config == {
        "temperature": 0.2,
        "seed": 7,
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
    }
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


def test_stream_request_and_json_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    choice = {"type": "function", "function": {"name": "get_weather"}}
    url, body = _request(stream=True, response_format=fmt, tools=TOOLS, tool_choice=choice)
    _valid(body)
    assert url.endswith(":streamGenerateContent?alt=sse")
    assert body["generationConfig"]["responseJsonSchema"] == schema
    assert body["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == ["get_weather"]


def test_unknown_tool_call_id_is_rejected() -> None:
    messages = [
        {"role": "user", "content": "x"},
        {"role": "tool", "tool_call_id": "nope", "content": "1"},
    ]
    with pytest.raises(InvalidRequest):
        GeminiAdapter().chat_request({"messages": messages}, TARGET)


def test_text_response(raw: Callable[[str], bytes]) -> None:
    out = GeminiAdapter().chat_response(raw("gemini/generate_text.json"), TARGET, "r1")
    completion = ChatCompletion.model_validate(out)
    assert completion.choices[0].message.content == "Paris is the capital of France."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gemini-2.5-flash"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens == 1864
    assert usage.completion_tokens == 8 + 25  # thinking tokens are billed as output
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 1843


def test_function_call_response(raw: Callable[[str], bytes]) -> None:
    out = GeminiAdapter().chat_response(raw("gemini/generate_function_call.json"), TARGET, "r1")
    choice = ChatCompletion.model_validate(out).choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    assert json.loads(call.function.arguments) == {"location": "Paris, France", "unit": "celsius"}


def test_blocked_prompt_is_content_filter() -> None:
    blocked = b'{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9}}'
    gemini_types.GenerateContentResponse.model_validate_json(blocked)
    out = ChatCompletion.model_validate(GeminiAdapter().chat_response(blocked, TARGET, "r"))
    assert out.choices[0].finish_reason == "content_filter"


def _stream(events: list[SseEvent]) -> tuple[list[ChatCompletionChunk], Usage | None]:
    translator = GeminiAdapter().stream_translator(TARGET, "r1", "gemini-2.5-flash")
    chunks = [c for e in events for c in translator.feed(e)] + translator.finish()
    return [ChatCompletionChunk.model_validate(c) for c in chunks], translator.usage


def test_text_stream(sse_events: Callable[[str], list[SseEvent]]) -> None:
    chunks, usage = _stream(sse_events("gemini/stream_text.sse"))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Paris is the capital of France."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert usage == Usage(prompt_tokens=1864, completion_tokens=33, cached_tokens=1843)
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 1864 + 33


def test_function_call_stream(sse_events: Callable[[str], list[SseEvent]]) -> None:
    chunks, usage = _stream(sse_events("gemini/stream_function_call.sse"))
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert len(calls) == 1 and calls[0].index == 0 and calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments or "") == {
        "location": "Paris, France", "unit": "celsius",
    }  # fmt: skip
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert usage == Usage(prompt_tokens=97, completion_tokens=84, cached_tokens=0)


def test_error_in_stream_is_mapped(raw: Callable[[str], bytes]) -> None:
    translator = GeminiAdapter().stream_translator(TARGET, "r1", "g")
    with pytest.raises(RateLimited) as info:
        translator.feed(SseEvent(raw("gemini/error_rate_limit.json").decode()))
    assert info.value.headers["Retry-After"] == "37"


def test_embeddings(raw: Callable[[str], bytes]) -> None:
    adapter = GeminiAdapter()
    prepared = adapter.embeddings_request({"input": ["a", "b"], "dimensions": 5}, TARGET)
    assert prepared.url.endswith("/models/gemini-2.5-flash:batchEmbedContents")
    requests = json.loads(prepared.body)["requests"]
    assert [r["content"]["parts"][0]["text"] for r in requests] == ["a", "b"]
    assert requests[0]["model"] == "models/gemini-2.5-flash"
    assert requests[0]["outputDimensionality"] == 5
    floats = CreateEmbeddingResponse.model_validate(
        adapter.embeddings_response(raw("gemini/embed.json"), TARGET)
    )
    assert floats.data[1].embedding == [-0.25, 0.125, 0.0625, 0.03125, -0.5]
    encoded = adapter.embeddings_response(raw("gemini/embed.json"), TARGET, "base64")
    packed = base64.b64decode(encoded["data"][1]["embedding"])
    assert list(struct.unpack("<5f", packed)) == [-0.25, 0.125, 0.0625, 0.03125, -0.5]


def test_embeddings_reject_token_arrays() -> None:
    with pytest.raises(InvalidRequest):
        GeminiAdapter().embeddings_request({"input": [[1, 2, 3]]}, TARGET)


def test_thought_signature_survives_the_round_trip(raw: Callable[[str], bytes]) -> None:
    adapter = GeminiAdapter()
    out = adapter.chat_response(raw("gemini/generate_function_call.json"), TARGET, "r1")
    message = out["choices"][0]["message"]
    call = message["tool_calls"][0]
    follow_up = [
        {"role": "user", "content": "Weather in Paris?"},
        message,
        {"role": "tool", "tool_call_id": call["id"], "content": "18C"},
    ]
    body = json.loads(adapter.chat_request({"messages": follow_up}, TARGET).body)
    for content in body["contents"]:
        gemini_types.Content.model_validate(content)
    model_part = body["contents"][1]["parts"][0]
    assert model_part["thoughtSignature"] == "CiQB0e2Kb7Xr8yQm2aTqZ2Ll0f3G1lq3Yk8n2b4r9VqT0w=="
    assert model_part["functionCall"]["name"] == "get_weather"
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"
