"""The official anthropic SDK against the router process (POST /v1/messages), in front of
the chat-only fake vLLM: the Messages protocol is translated onto the chat path."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, ToolParam

from aistrale_testkit.router.fake_vllm import REPLY
from aistrale_testkit.router.harness import Router

HELLO: list[MessageParam] = [{"role": "user", "content": "Say hello to the gateway"}]
WEATHER: ToolParam = {
    "name": "weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture
async def client(router: Router) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with sdk(router, router.new_key()) as opened:
        yield opened


def sdk(router: Router, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=router.url, api_key=key, max_retries=0, timeout=15)


async def test_a_message_is_answered_and_metered_as_messages(
    router: Router, client: anthropic.AsyncAnthropic
) -> None:
    raw = await client.messages.with_raw_response.create(
        model="chat-model",
        max_tokens=100,
        system=[{"type": "text", "text": "Be brief."}],
        messages=HELLO,
        stop_sequences=["zzz"],
        extra_body={"temperature": 0.2},  # this SDK version no longer names it
    )
    message = await raw.parse()
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == REPLY  # type: ignore[union-attr]
    assert (message.stop_reason, message.model, message.role) == (
        "end_turn",
        "chat-model",
        "assistant",
    )
    sent = router.vllm.log.bodies[-1]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (sent["max_tokens"], sent["stop"], sent["temperature"]) == (100, ["zzz"], 0.2)
    event = await router.usage.wait_for(raw.headers["x-request-id"])
    assert (event.endpoint, event.status, event.model) == ("messages", 200, "chat-model")
    assert event.completion_tokens == message.usage.output_tokens == len(REPLY.split(" "))
    assert event.prompt_tokens == message.usage.input_tokens and not event.tokens_estimated


async def test_tools_round_trip(router: Router, client: anthropic.AsyncAnthropic) -> None:
    asked = await client.messages.create(
        model="chat-model", max_tokens=50, messages=HELLO, tools=[WEATHER]
    )
    assert asked.stop_reason == "tool_use"
    use = asked.content[-1]
    assert use.type == "tool_use" and use.name == "weather" and use.input == {"city": "Paris"}
    sent_tools = router.vllm.log.bodies[-1]["tools"]
    assert sent_tools[0]["function"]["parameters"] == WEATHER["input_schema"]
    follow: list[Any] = [
        *HELLO,
        {"role": "assistant", "content": [use.model_dump()]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": use.id, "content": "Sunny"},
                {"type": "text", "text": "And so?"},
            ],
        },
    ]
    await client.messages.create(
        model="chat-model", max_tokens=50, messages=follow, tool_choice={"type": "none"}
    )
    sent = router.vllm.log.bodies[-1]
    assert sent["tool_choice"] == "none"
    assistant, tool, user = sent["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == use.id
    assert assistant["tool_calls"][0]["function"]["arguments"] == '{"city":"Paris"}'
    assert tool == {"role": "tool", "tool_call_id": use.id, "content": "Sunny"}
    assert user == {"role": "user", "content": [{"type": "text", "text": "And so?"}]}


async def test_a_stream_comes_in_anthropics_events(
    router: Router, client: anthropic.AsyncAnthropic
) -> None:
    async with client.messages.stream(model="chat-model", max_tokens=100, messages=HELLO) as s:
        text = "".join([t async for t in s.text_stream])
        final = await s.get_final_message()
    assert text == REPLY and final.content[0].text == REPLY  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == len(REPLY.split(" ")) and final.usage.input_tokens > 0
    request_id = s.response.headers["x-request-id"]
    event = await router.usage.wait_for(request_id)
    assert event.endpoint == "messages" and event.stream and not event.tokens_estimated
    assert event.completion_tokens == final.usage.output_tokens


async def test_raw_stream_event_order(router: Router) -> None:
    body = {"model": "chat-model", "max_tokens": 20, "messages": HELLO, "stream": True}
    answer = await post(router, router.new_key(), body)
    kinds = [line.removeprefix("event: ") for line in answer.text.splitlines() if "event:" in line]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]


async def test_key_in_authorization_header_and_version_header(router: Router) -> None:
    body = {"model": "chat-model", "max_tokens": 5, "messages": HELLO}
    headers = {"authorization": f"Bearer {router.new_key()}", "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        answer = await http.post("/v1/messages", json=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["type"] == "message"


@pytest.mark.parametrize(
    ("model", "key_fields", "error"),
    [
        ("chat-model", None, anthropic.AuthenticationError),
        ("no-such-model", {}, anthropic.NotFoundError),
        ("secret-model", {}, anthropic.PermissionDeniedError),
        ("chat-model", {"budgets": "broke"}, anthropic.RateLimitError),
    ],
)
async def test_refusals_raise_the_sdks_own_exceptions(
    router: Router, model: str, key_fields: dict[str, Any] | None, error: type[Exception]
) -> None:
    if key_fields is None:
        key = "sk-test-wrong"
    elif key_fields.get("budgets") == "broke":
        org = "org-broke-" + secrets.token_hex(4)
        budget = {"scope": "org", "scope_id": org, "limit_micro_usd": 1, "period": "total"}
        key = router.new_key(org_id=org, budgets=[budget])
    else:
        key = router.new_key()
    async with sdk(router, key) as client:
        with pytest.raises(error) as raised:
            await client.messages.create(model=model, max_tokens=10, messages=HELLO)
    assert isinstance(raised.value, anthropic.APIStatusError)
    assert raised.value.body["type"] == "error"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"model": "chat-model", "messages": HELLO}, "max_tokens"),
        ({"model": "chat-model", "max_tokens": 0, "messages": HELLO}, "max_tokens"),
        ({"model": "chat-model", "max_tokens": 5, "messages": "hi"}, "messages"),
        ({"model": "chat-model", "max_tokens": 5, "messages": [{"role": "bot"}]}, "role"),
        ({"model": "chat-model", "max_tokens": 5, "system": 3, "messages": HELLO}, "system"),
        (
            {
                "model": "chat-model",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "video"}]}],
            },
            "video",
        ),
        (
            {
                "model": "chat-model",
                "max_tokens": 5,
                "messages": HELLO,
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            },
            "web_search",
        ),
    ],
)
async def test_bad_input_is_a_400_in_anthropics_shape(
    router: Router, body: dict[str, Any], says: str
) -> None:
    answer = await post(router, router.new_key(), body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert says in error["error"]["message"]
    event = await router.usage.wait_for(answer.headers["x-request-id"])
    assert (event.endpoint, event.status) == ("messages", 400)


async def test_invalid_json_is_a_400(router: Router) -> None:
    headers = {"x-api-key": router.new_key(), "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        answer = await http.post("/v1/messages", content=b"{nope", headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error"


async def post(router: Router, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        return await http.post("/v1/messages", json=body, headers=headers)


async def test_count_tokens_is_the_routers_prompt_estimate(
    router: Router, client: anthropic.AsyncAnthropic
) -> None:
    short = await client.messages.count_tokens(model="chat-model", messages=HELLO)
    longer = await client.messages.count_tokens(
        model="chat-model", messages=HELLO, system="Answer in French. " * 20, tools=[WEATHER]
    )
    assert 0 < short.input_tokens < longer.input_tokens
    answered = await client.messages.create(model="chat-model", max_tokens=5, messages=HELLO)
    assert short.input_tokens >= answered.usage.input_tokens  # an over-estimate, never under
    with pytest.raises(anthropic.NotFoundError):
        await client.messages.count_tokens(model="no-such-model", messages=HELLO)
    async with sdk(router, "sk-test-wrong") as wrong:
        with pytest.raises(anthropic.AuthenticationError):
            await wrong.messages.count_tokens(model="chat-model", messages=HELLO)


async def test_a_provider_adapter_deployment_serves_messages_too(
    router: Router, client: anthropic.AsyncAnthropic
) -> None:
    """`adapted-model` goes through the OpenAI provider adapter, not the pass-through."""
    message = await client.messages.create(model="adapted-model", max_tokens=30, messages=HELLO)
    assert message.content[0].text == REPLY and message.model == "adapted-model"  # type: ignore[union-attr]
    async with client.messages.stream(model="adapted-model", max_tokens=30, messages=HELLO) as s:
        assert "".join([t async for t in s.text_stream]) == REPLY


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
async def test_a_key_that_must_sign_is_refused_unsigned_in_anthropics_shape(
    router: Router, path: str
) -> None:
    key = router.new_key(signing_secret="ss-test-signing-secret-0123456789")
    body = {"model": "chat-model", "max_tokens": 5, "messages": HELLO}
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as http:
        answer = await http.post(path, json=body, headers={"x-api-key": key})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["type"] == "authentication_error"
