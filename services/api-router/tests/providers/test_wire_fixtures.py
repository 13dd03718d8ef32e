"""The recorded fixtures speak the providers' real formats: the official SDKs parse them.

google-genai's models forbid unknown fields, so a misspelt Gemini field fails here; the
Anthropic stream events are checked against the SDK's discriminated union.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic.types as anthropic_types
import groq.types.chat as groq_chat
import openai.types.chat as openai_chat
import pytest
from google.genai import types as gemini_types
from pydantic import TypeAdapter

from aistrale_router.streaming.sse import SseEvent

STREAM_EVENT = TypeAdapter(anthropic_types.RawMessageStreamEvent)


@pytest.mark.parametrize("name", ["anthropic/message_text.json", "anthropic/message_tool_use.json"])
def test_anthropic_messages_parse(name: str, fixture_json: Callable[[str], Any]) -> None:
    message = anthropic_types.Message.model_validate(fixture_json(name))
    assert message.usage.input_tokens > 0


@pytest.mark.parametrize(
    "name",
    ["anthropic/stream_text.sse", "anthropic/stream_tool_use.sse"],
)
def test_anthropic_stream_events_parse(
    name: str, sse_events: Callable[[str], list[SseEvent]]
) -> None:
    events = [e for e in sse_events(name) if e.event != "ping"]
    parsed = [STREAM_EVENT.validate_python(json.loads(e.data)) for e in events]
    assert (parsed[0].type, parsed[-1].type) == ("message_start", "message_stop")
    assert all(p.type == e.event for p, e in zip(parsed, events, strict=True))


@pytest.mark.parametrize(
    "name",
    [
        "anthropic/error_rate_limit.json",
        "anthropic/error_authentication.json",
        "anthropic/error_prompt_too_long.json",
        "anthropic/error_overloaded.json",
    ],
)
def test_anthropic_errors_parse(name: str, fixture_json: Callable[[str], Any]) -> None:
    error = anthropic_types.ErrorResponse.model_validate(fixture_json(name))
    assert error.type == "error"


@pytest.mark.parametrize(
    "name", ["gemini/generate_text.json", "gemini/generate_function_call.json"]
)
def test_gemini_responses_parse(name: str, fixture_json: Callable[[str], Any]) -> None:
    response = gemini_types.GenerateContentResponse.model_validate(fixture_json(name))
    assert response.usage_metadata is not None and response.candidates


@pytest.mark.parametrize("name", ["gemini/stream_text.sse", "gemini/stream_function_call.sse"])
def test_gemini_stream_events_parse(name: str, sse_events: Callable[[str], list[SseEvent]]) -> None:
    events = sse_events(name)
    assert events
    for event in events:
        gemini_types.GenerateContentResponse.model_validate_json(event.data)


def test_gemini_embeddings_parse(fixture_json: Callable[[str], Any]) -> None:
    response = gemini_types.EmbedContentResponse.model_validate(fixture_json("gemini/embed.json"))
    assert response.embeddings and len(response.embeddings) == 2


@pytest.mark.parametrize(
    "name",
    [
        "gemini/error_rate_limit.json",
        "gemini/error_api_key_invalid.json",
        "gemini/error_context_too_long.json",
        "gemini/error_overloaded.json",
        "gemini/error_deadline.json",
    ],
)
def test_gemini_errors_parse(name: str, fixture_json: Callable[[str], Any]) -> None:
    from google.genai import errors

    body = fixture_json(name)
    error = errors.APIError(body["error"]["code"], body)
    assert error.status == body["error"]["status"] and error.message


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("openai/chat_completion.json", openai_chat.ChatCompletion),
        ("huggingface/tgi_chat_completion.json", openai_chat.ChatCompletion),
        ("groq/chat_completion.json", groq_chat.ChatCompletion),
    ],
)
def test_openai_format_completions_parse(
    name: str, model: Any, fixture_json: Callable[[str], Any]
) -> None:
    assert model.model_validate(fixture_json(name)).choices


def test_openai_embeddings_parse(fixture_json: Callable[[str], Any]) -> None:
    from openai.types import CreateEmbeddingResponse

    assert CreateEmbeddingResponse.model_validate(fixture_json("openai/embeddings.json")).data


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("openai/stream_tool_call.sse", openai_chat.ChatCompletionChunk),
        ("huggingface/tgi_stream_text.sse", openai_chat.ChatCompletionChunk),
        ("groq/stream_text.sse", groq_chat.ChatCompletionChunk),
    ],
)
def test_openai_format_chunks_parse(
    name: str, model: Any, sse_events: Callable[[str], list[SseEvent]]
) -> None:
    events = sse_events(name)
    assert events[-1].data == "[DONE]"
    for event in events[:-1]:
        model.model_validate_json(event.data)
