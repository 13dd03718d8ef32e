"""OpenAI, Groq and HuggingFace (router and TGI): native OpenAI format, their own quirks."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from aistrale_common.errors import InvalidRequest, UpstreamFailed
from aistrale_router.providers import ProviderTarget, Usage, default_registry
from aistrale_router.providers.base import WireTranslator
from aistrale_router.streaming.sse import SseEvent

TARGETS = {
    "openai": ProviderTarget("https://api.openai.com/v1", "gpt-4o-mini", "sk-test"),
    "groq": ProviderTarget("https://api.groq.com/openai/v1/", "llama-3.3-70b-versatile", "gsk"),
    "huggingface": ProviderTarget("http://tgi:8080/v1", "tgi", None),
}


def _adapter(name: str) -> WireTranslator:
    return default_registry().translator(name)


@pytest.mark.parametrize("name", ["openai", "groq", "huggingface"])
def test_request_keeps_body_and_asks_for_stream_usage(name: str) -> None:
    body = {
        "model": "alias",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "temperature": 0,
    }
    prepared = _adapter(name).chat_request(body, TARGETS[name])
    sent = json.loads(prepared.body)
    assert sent == {**body, "model": TARGETS[name].model, "stream_options": {"include_usage": True}}
    assert prepared.url == TARGETS[name].base_url.rstrip("/") + "/chat/completions"
    key = TARGETS[name].api_key
    assert prepared.headers.get("authorization") == (f"Bearer {key}" if key else None)


@pytest.mark.parametrize(
    ("name", "fixture", "usage"),
    [
        ("openai", "openai/chat_completion.json", Usage(1864, 8, 1792)),
        ("groq", "groq/chat_completion.json", Usage(40, 8, 0)),
        ("huggingface", "huggingface/tgi_chat_completion.json", Usage(20, 8, 0)),
    ],
)
def test_response_is_normalised(
    name: str, fixture: str, usage: Usage, raw: Callable[[str], bytes]
) -> None:
    out = _adapter(name).chat_response(raw(fixture), TARGETS[name], "r1")
    completion = ChatCompletion.model_validate(out)
    assert completion.choices[0].message.content == "Paris is the capital of France."
    reported, ours = out["usage"], usage.as_openai()
    for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert reported[field] == ours[field]
    assert reported["prompt_tokens_details"]["cached_tokens"] == usage.cached_tokens
    if name == "openai":  # the provider's other details are kept for the client
        assert reported["completion_tokens_details"]["reasoning_tokens"] == 0
    assert "x_groq" not in out


@pytest.mark.parametrize(
    ("name", "fixture", "usage"),
    [
        ("openai", "openai/stream_tool_call.sse", Usage(1864, 8, 1792)),
        ("groq", "groq/stream_text.sse", Usage(40, 8, 0)),
        ("huggingface", "huggingface/tgi_stream_text.sse", Usage(20, 8, 0)),
    ],
)
def test_stream_usage_is_last_chunk(
    name: str, fixture: str, usage: Usage, sse_events: Callable[[str], list[SseEvent]]
) -> None:
    translator = _adapter(name).stream_translator(TARGETS[name], "r1", "alias")
    chunks = [c for e in sse_events(fixture) for c in translator.feed(e)] + translator.finish()
    parsed = [ChatCompletionChunk.model_validate(c) for c in chunks]
    assert all(c.usage is None for c in parsed[:-1])
    assert parsed[-1].choices == [] and parsed[-1].usage is not None
    assert translator.usage == usage
    assert parsed[-1].id == parsed[0].id and parsed[-1].model == parsed[0].model
    assert [c.choices[0].finish_reason for c in parsed if c.choices][-1] in ("stop", "tool_calls")


def test_openai_streamed_tool_call_passes_through(
    sse_events: Callable[[str], list[SseEvent]],
) -> None:
    translator = _adapter("openai").stream_translator(TARGETS["openai"], "r1", "m")
    chunks = [c for e in sse_events("openai/stream_tool_call.sse") for c in translator.feed(e)]
    deltas = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert json.loads("".join(d["function"]["arguments"] for d in deltas)) == {
        "location": "Paris, France"
    }


def test_error_chunk_after_200_raises() -> None:
    translator = _adapter("huggingface").stream_translator(TARGETS["huggingface"], "r1", "m")
    with pytest.raises(UpstreamFailed):
        translator.feed(
            SseEvent('{"error":"Request failed during generation","error_type":"generation"}')
        )


def test_embeddings_where_they_exist(raw: Callable[[str], bytes]) -> None:
    prepared = _adapter("openai").embeddings_request(
        {"input": "x", "model": "a"}, TARGETS["openai"]
    )
    assert prepared.url == "https://api.openai.com/v1/embeddings"
    assert json.loads(prepared.body)["model"] == "gpt-4o-mini"
    out = _adapter("openai").embeddings_response(raw("openai/embeddings.json"), TARGETS["openai"])
    parsed = CreateEmbeddingResponse.model_validate(out)
    assert parsed.usage.prompt_tokens == 8 and len(parsed.data[0].embedding) == 3
    with pytest.raises(InvalidRequest):
        _adapter("groq").embeddings_request({"input": "x"}, TARGETS["groq"])


def test_tgi2_quirks_are_normalised(
    raw: Callable[[str], bytes], sse_events: Callable[[str], list[SseEvent]]
) -> None:
    """TGI 2.x answers that the openai SDK itself refuses to parse, made valid."""
    plain = raw("huggingface/tgi2_tool_call.json")
    with pytest.raises(ValueError):
        ChatCompletion.model_validate_json(plain)  # as TGI sends it
    adapter, target = _adapter("huggingface"), TARGETS["huggingface"]
    completion = ChatCompletion.model_validate(adapter.chat_response(plain, target, "r1"))
    call = (completion.choices[0].message.tool_calls or [])[0]
    assert call.type == "function" and json.loads(call.function.arguments) == {"location": "Paris"}
    assert completion.choices[0].finish_reason == "stop"
    translator = adapter.stream_translator(target, "r1", "m")
    events = sse_events("huggingface/tgi2_stream_tool_call.sse")
    chunks = [c for e in events for c in translator.feed(e)] + translator.finish()
    parsed = [ChatCompletionChunk.model_validate(c) for c in chunks]
    delta_calls = parsed[0].choices[0].delta.tool_calls or []
    assert delta_calls[0].function is not None and delta_calls[0].function.name == "get_weather"
    assert parsed[1].choices[0].finish_reason == "stop"
    assert translator.usage == Usage(180, 14, 0)
