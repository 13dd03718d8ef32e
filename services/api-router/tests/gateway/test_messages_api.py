"""POST /v1/messages with the official anthropic SDK, against the router process in front of
a fake vLLM that speaks chat completions only (the package's `router`)."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageTokensCount, RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_testkit.router.fake_vllm import REPLY
from aistrale_testkit.router.harness import Router

TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "The weather in a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)


def sdk(router: Router, key: str | None = None) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=router.url, api_key=key or router.new_key(), timeout=15, max_retries=0
    )


async def test_a_message_is_answered_and_metered(router: Router) -> None:
    raw = await sdk(router).messages.with_raw_response.create(
        model="chat-model",
        max_tokens=64,
        system=[{"type": "text", "text": "Be brief."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}],
        stop_sequences=["###"],
        # This SDK release no longer types the sampling fields; the API still takes them.
        extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5},
    )
    message = await raw.parse()
    Message.model_validate(message.model_dump())
    assert message.content[0].type == "text" and message.content[0].text == REPLY
    assert message.stop_reason == "end_turn" and message.model == "chat-model"
    sent = router.vllm.log.bodies[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Say hello"}]},
    ]
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"], sent["top_k"]) == (
        64, 0.2, 0.9, 5)  # fmt: skip
    assert sent["stop"] == ["###"]
    assert raw.headers["request-id"] == raw.headers["x-request-id"]
    event = await router.usage.wait_for(raw.headers["x-request-id"])
    assert (event.endpoint, event.status, event.model) == ("messages", 200, "chat-model")
    assert event.prompt_tokens == message.usage.input_tokens
    assert event.completion_tokens == message.usage.output_tokens == len(REPLY.split(" "))


async def test_an_alias_is_served_and_metered_as_its_model(router: Router) -> None:
    raw = await sdk(router).messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=3, messages=[{"role": "user", "content": "Hi"}]
    )
    message = await raw.parse()
    assert message.model == "claude-sonnet-4-5" and message.usage.output_tokens == 3
    assert router.vllm.log.bodies[-1]["model"] == "fake-chat"
    event = await router.usage.wait_for(raw.headers["x-request-id"])
    assert event.model == "chat-model"


async def test_stream_events_come_in_anthropic_order(router: Router) -> None:
    client = sdk(router)
    stream = await client.messages.create(
        model="chat-model", max_tokens=64, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    events = [event async for event in stream]
    for streamed in events:
        EVENT.validate_python(streamed.model_dump())
    kinds = [e.type for e in events]
    deltas = kinds.count("content_block_delta")
    assert kinds == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    delta = events[-2]
    assert delta.type == "message_delta" and delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == deltas == len(REPLY.split(" "))
    event = await router.usage.wait_for(stream.response.headers["x-request-id"])
    assert event.endpoint == "messages" and event.stream and event.status == 200


async def test_the_sdk_stream_helper_gives_the_final_message(router: Router) -> None:
    async with sdk(router).messages.stream(
        model="chat-model", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        text = [t async for t in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(text) == REPLY
    assert final.content[0].type == "text" and final.content[0].text == REPLY
    assert final.usage.output_tokens == len(REPLY.split(" "))


@pytest.mark.parametrize("streamed", [False, True])
async def test_tool_use_round_trip(router: Router, streamed: bool) -> None:
    client = sdk(router)
    ask: Any = [{"role": "user", "content": "Weather?"}]
    first = await _create(client, streamed, messages=ask, tools=TOOLS)
    assert first.stop_reason == "tool_use"
    call = first.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input == {"city": "Paris"}
    assert router.vllm.log.bodies[-1]["tools"][0]["function"]["name"] == "get_weather"
    follow_up: Any = [
        *ask,
        {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
        },
    ]
    second = await _create(client, streamed, messages=follow_up, tools=TOOLS)
    assert second.stop_reason == "end_turn"
    messages = router.vllm.log.bodies[-1]["messages"]
    assert messages[1]["tool_calls"][0]["id"] == call.id
    assert messages[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}


async def test_a_stream_cut_mid_way_ends_with_an_error_event(router: Router) -> None:
    stream = await sdk(router).messages.create(
        model="chat-model",
        max_tokens=64,
        messages=[{"role": "user", "content": "CUT_STREAM please"}],
        stream=True,
    )
    kinds: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as failed:
        async for streamed in stream:
            kinds.append(streamed.type)
    assert kinds[:2] == ["message_start", "content_block_start"]
    body = failed.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    event = await router.usage.wait_for(stream.response.headers["x-request-id"])
    assert event.endpoint == "messages" and event.status == 502


async def test_errors_are_the_sdk_exception_classes(router: Router) -> None:
    hi: Any = [{"role": "user", "content": "Hi"}]
    with pytest.raises(anthropic.AuthenticationError) as wrong:
        await sdk(router, "sk-wrong").messages.create(model="chat-model", max_tokens=8, messages=hi)
    assert wrong.value.status_code == 401
    body = wrong.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.NotFoundError):
        await sdk(router).messages.create(model="no-such-model", max_tokens=8, messages=hi)
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        await sdk(router).messages.create(model="secret-model", max_tokens=8, messages=hi)
    assert isinstance(denied.value.body, dict)
    assert denied.value.body["error"]["type"] == "permission_error"
    with pytest.raises(anthropic.InternalServerError):  # 502: the model's server failed
        await sdk(router).messages.create(model="broken-model", max_tokens=8, messages=hi)
    with pytest.raises(anthropic.BadRequestError) as bad:
        await sdk(router).messages.create(model="chat-model", max_tokens=0, messages=hi)
    assert isinstance(bad.value.body, dict) and bad.value.body["error"]["type"] == (
        "invalid_request_error")  # fmt: skip
    limited = sdk(router, router.new_key(rpm_limit=1))
    await limited.messages.create(model="chat-model", max_tokens=8, messages=hi)
    with pytest.raises(anthropic.RateLimitError):
        await limited.messages.create(model="chat-model", max_tokens=8, messages=hi)


async def test_bearer_authorization_works_too(router: Router) -> None:
    client = anthropic.AsyncAnthropic(
        base_url=router.url, auth_token=router.new_key(), timeout=15, max_retries=0
    )
    message = await client.messages.create(
        model="chat-model", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.content[0].type == "text"


async def _create(client: anthropic.AsyncAnthropic, streamed: bool, **fields: Any) -> Message:
    if not streamed:
        created: Message = await client.messages.create(model="chat-model", max_tokens=64, **fields)
        return created
    async with client.messages.stream(model="chat-model", max_tokens=64, **fields) as stream:
        return await stream.get_final_message()


async def test_count_tokens_is_the_router_estimate_for_an_allowed_model(router: Router) -> None:
    client = sdk(router)
    hi: Any = [{"role": "user", "content": "Hello there, how are you today?"}]
    counted = await client.messages.count_tokens(model="chat-model", messages=hi, system="S")
    MessageTokensCount.model_validate(counted.model_dump())
    assert 0 < counted.input_tokens < 100
    longer = await client.messages.count_tokens(model="chat-model", messages=hi * 4, system="S")
    assert longer.input_tokens > counted.input_tokens
    with pytest.raises(anthropic.NotFoundError):
        await client.messages.count_tokens(model="no-such-model", messages=hi)
    with pytest.raises(anthropic.AuthenticationError):
        await sdk(router, "sk-wrong").messages.count_tokens(model="chat-model", messages=hi)
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.count_tokens(model="chat-model", messages=[])


def test_the_openapi_document_lists_messages(router: Router) -> None:
    paths = httpx.get(router.url + "/v1/openapi.json", timeout=10).json()["paths"]
    assert {"/v1/messages", "/v1/messages/count_tokens", "/v1/responses"} <= set(paths)
    body = paths["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]
    assert "max_tokens" in body["schema"]["required"]
