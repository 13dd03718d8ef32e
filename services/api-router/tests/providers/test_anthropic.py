"""Anthropic adapter: OpenAI request in, Messages request out (checked with the SDK's
request types), recorded responses and streams back to OpenAI (checked with openai's)."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from typing import Any

import anthropic.types as anthropic_types
import pytest
from anthropic.types import RawMessageStreamEvent, message_create_params
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import TypeAdapter

from aistrale_common.errors import InvalidRequest, ServiceUnavailable
from aistrale_router.providers import ProviderTarget, Usage, default_registry
from aistrale_router.providers.anthropic import AnthropicAdapter
from aistrale_router.streaming.sse import SseEvent

TARGET = ProviderTarget("https://api.anthropic.com", "claude-sonnet-4-5", "sk-ant-test-key")
PARAMS = message_create_params.MessageCreateParamsNonStreaming
REQUEST = TypeAdapter(PARAMS)
PNG = "data:image/png;base64,iVBORw0KGgo="
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        },
    }
]
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                 {"type": "image_url", "image_url": {"url": PNG}}]},
    {"role": "assistant", "content": "A logo."},
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"location\": \"Paris\"}"}},
        {"id": "call_2", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"location\": \"Rome\"}"}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    {"role": "tool", "tool_call_id": "call_2", "content": "24C"},
]  # fmt: skip


def _request(**extra: Any) -> dict[str, Any]:
    prepared = AnthropicAdapter().chat_request(
        {"model": "claude", "messages": CONVERSATION, **extra}, TARGET
    )
    assert prepared.url == "https://api.anthropic.com/v1/messages"
    assert prepared.headers["x-api-key"] == "sk-ant-test-key"
    assert prepared.headers["anthropic-version"] == "2023-06-01"
    body: dict[str, Any] = json.loads(prepared.body)
    return body


BLOCKS: dict[str, Any] = {
    "text": anthropic_types.TextBlockParam,
    "image": anthropic_types.ImageBlockParam,
    "tool_use": anthropic_types.ToolUseBlockParam,
    "tool_result": anthropic_types.ToolResultBlockParam,
}
ROLES: dict[str, Any] = {
    "user": anthropic_types.UserMessageParam,
    "assistant": anthropic_types.AssistantMessageParam,
}
SOURCES: dict[str, Any] = {
    "base64": anthropic_types.Base64ImageSourceParam,
    "url": anthropic_types.URLImageSourceParam,
}


def _exact(value: dict[str, Any], typed_dict: Any) -> None:
    """Every Required key of the SDK's TypedDict present, and no key it does not declare
    (pydantic alone lets both slip through for total=False TypedDicts)."""
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    required = {k for k, v in hints.items() if typing.get_origin(v) is typing.Required}
    assert required <= set(value) <= set(hints), (typed_dict.__name__, sorted(value))


def _valid(body: dict[str, Any]) -> None:
    """Valid per the SDK's request types, down to each content block and image source."""
    REQUEST.validate_python(body)
    _exact(body, PARAMS)
    for message in body["messages"]:
        _exact(message, ROLES[message["role"]])
        for block in message["content"]:
            _exact(block, BLOCKS[block["type"]])
            if block["type"] == "image":
                _exact(block["source"], SOURCES[block["source"]["type"]])
    for tool in body.get("tools", []):
        _exact(tool, anthropic_types.ToolParam)


def test_registry_has_anthropic() -> None:
    assert isinstance(default_registry().translator("anthropic"), AnthropicAdapter)


def test_request_translation_is_a_valid_messages_request() -> None:
    body = _request(tools=TOOLS, tool_choice="required", max_tokens=50, stop="END", user="u1")
    _valid(body)
    assert body["system"] == "You are terse."
    assert body["max_tokens"] == 50 and body["stop_sequences"] == ["END"]
    assert body["tool_choice"] == {"type": "any"}
    assert body["tools"][0]["input_schema"]["properties"]["location"] == {"type": "string"}
    assert [m["role"] for m in body["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    image = body["messages"][0]["content"][1]
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    calls = body["messages"][3]["content"]
    assert [c["input"] for c in calls] == [{"location": "Paris"}, {"location": "Rome"}]
    results = body["messages"][4]["content"]  # both results in one user turn
    assert [(r["tool_use_id"], r["content"]) for r in results] == [
        ("call_1", "18C"),
        ("call_2", "24C"),
    ]


def test_request_defaults_and_named_tool_choice() -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    body = _request(tools=TOOLS, tool_choice=choice, parallel_tool_calls=False, stream=True)
    _valid({k: v for k, v in body.items() if k != "stream"})
    assert body["max_tokens"] == 4096 and body["stream"] is True
    assert body["tool_choice"] == {
        "type": "tool", "name": "get_weather", "disable_parallel_tool_use": True,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"tool_choice": "sometimes", "tools": TOOLS}, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
    ],
)
def test_request_rejects_what_anthropic_cannot_do(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        _request(**extra)
    assert info.value.param == param


def test_text_response(raw: Callable[[str], bytes]) -> None:
    out = AnthropicAdapter().chat_response(raw("anthropic/message_text.json"), TARGET, "r1")
    completion = ChatCompletion.model_validate(out)
    assert completion.choices[0].message.content == "Paris is the capital of France."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 21 + 1843
    details = completion.usage.prompt_tokens_details
    assert details is not None and details.cached_tokens == 1843
    assert completion.usage.completion_tokens == 10


def test_tool_use_response(raw: Callable[[str], bytes]) -> None:
    out = AnthropicAdapter().chat_response(raw("anthropic/message_tool_use.json"), TARGET, "r1")
    choice = ChatCompletion.model_validate(out).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.id == "toolu_01A09q90qw90lq917835lq9" and call.type == "function"
    assert json.loads(call.function.arguments) == {"location": "Paris, France", "unit": "celsius"}


def _stream(events: list[SseEvent]) -> tuple[list[ChatCompletionChunk], Usage | None]:
    translator = AnthropicAdapter().stream_translator(TARGET, "r1", "claude-sonnet-4-5")
    chunks = [c for e in events for c in translator.feed(e)] + translator.finish()
    return [ChatCompletionChunk.model_validate(c) for c in chunks], translator.usage


def test_text_stream(sse_events: Callable[[str], list[SseEvent]]) -> None:
    chunks, usage = _stream(sse_events("anthropic/stream_text.sse"))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Paris is the capital of France."
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert usage == Usage(prompt_tokens=1864, completion_tokens=10, cached_tokens=1843)
    assert len({c.id for c in chunks}) == 1


def test_tool_use_stream_deltas_reassemble(sse_events: Callable[[str], list[SseEvent]]) -> None:
    chunks, usage = _stream(sse_events("anthropic/stream_tool_use.sse"))
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "toolu_01A09q90qw90lq917835lq9"
    assert calls[0].function is not None and calls[0].function.name == "get_weather"
    assert {tc.index for tc in calls} == {0}
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(arguments) == {"location": "Paris, France", "unit": "celsius"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert usage == Usage(prompt_tokens=472, completion_tokens=89, cached_tokens=0)


def test_error_event_mid_stream_is_overload(sse_events: Callable[[str], list[SseEvent]]) -> None:
    with pytest.raises(ServiceUnavailable):
        _stream(sse_events("anthropic/stream_overloaded.sse"))


def test_no_embeddings() -> None:
    with pytest.raises(InvalidRequest):
        AnthropicAdapter().embeddings_request({"input": "x"}, TARGET)


def test_key_not_in_repr() -> None:
    prepared = AnthropicAdapter().chat_request(
        {"messages": [{"role": "user", "content": "hi"}]}, TARGET
    )
    assert "sk-ant-test-key" not in repr(prepared) and "sk-ant-test-key" not in repr(TARGET)


def test_partial_usage_in_message_delta_keeps_the_input_side() -> None:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 1},
        },
    }
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
        "usage": {"output_tokens": 5, "cache_creation_input_tokens": 0, "input_tokens": None},
    }
    events: list[dict[str, Any]] = [start, delta, {"type": "message_stop"}]  # fmt: skip
    event_type = TypeAdapter(RawMessageStreamEvent)
    for event in events:
        event_type.validate_python(event)
    chunks, usage = _stream([SseEvent(json.dumps(e), e["type"]) for e in events])
    assert usage == Usage(prompt_tokens=100, completion_tokens=5, cached_tokens=90)
    assert chunks[1].choices[0].finish_reason == "length"
    assert chunks[0].model == "claude-haiku-4-5"  # the upstream's model, as non-streamed
