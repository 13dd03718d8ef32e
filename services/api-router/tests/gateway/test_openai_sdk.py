"""The official openai SDK against the router process, in front of a fake vLLM."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from aistrale_testkit.router.fake_vllm import REPLY, prompt_tokens
from aistrale_testkit.router.harness import Router
from aistrale_testkit.router.sdk import open_sdk

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Say hello to the gateway"}
]


def sdk(router: Router, key: str | None = None) -> openai.AsyncOpenAI:
    return open_sdk(router.url + "/v1", key or router.new_key(), timeout=15)


async def test_chat_passes_every_field_through_and_meters_upstream_usage(router: Router) -> None:
    raw = await sdk(router).chat.completions.with_raw_response.create(
        model="chat-model",
        messages=MESSAGES,
        n=2,
        seed=7,
        stop=["\n\n"],
        logprobs=True,
        top_logprobs=2,
        temperature=0.3,
        response_format={"type": "json_object"},
        extra_body={"top_k": 5, "repetition_penalty": 1.1},
    )
    completion = raw.parse()
    assert [c.message.content for c in completion.choices] == [REPLY, REPLY]
    sent = router.vllm.log.bodies[-1]
    assert sent["model"] == "fake-chat"  # the catalog's upstream name
    for name, value in {"n": 2, "seed": 7, "stop": ["\n\n"], "top_k": 5, "top_logprobs": 2}.items():
        assert sent[name] == value
    assert sent["response_format"] == {"type": "json_object"}
    assert "stream_options" not in sent
    request_id = raw.headers["x-request-id"]
    event = await router.usage.wait_for(request_id)
    words = len(REPLY.split(" "))
    assert (event.prompt_tokens, event.completion_tokens) == (prompt_tokens(sent), 2 * words)
    assert not event.tokens_estimated
    assert event.cost_micro_usd == -(-(event.prompt_tokens * 1 + event.completion_tokens * 2) // 1)
    assert (event.status, event.model, event.served_model) == (200, "chat-model", "fake-chat")
    assert event.org_id == "org_test" and event.endpoint == "chat" and event.attempts == 1


async def test_stream_relays_chunks_and_hides_the_usage_chunk(router: Router) -> None:
    stream = await sdk(router).chat.completions.create(
        model="chat-model",
        messages=MESSAGES,
        stream=True,
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert all(c.usage is None and c.choices for c in chunks)
    sent = router.vllm.log.bodies[-1]
    assert sent["stream_options"] == {"include_usage": True}
    event = await router.usage.wait_for(stream.response.headers["x-request-id"])
    assert event.stream and event.status == 200 and not event.tokens_estimated
    assert event.completion_tokens == len(REPLY.split(" "))
    assert event.ttft_ms is not None and event.ttft_ms <= event.latency_ms


async def test_stream_keeps_the_usage_chunk_for_clients_that_ask(router: Router) -> None:
    stream = await sdk(router).chat.completions.create(
        model="chat-model",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(REPLY.split(" "))


async def test_tools_and_tool_choice(router: Router) -> None:
    tool: ChatCompletionToolParam = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    completion = await sdk(router).chat.completions.create(
        model="chat-model",
        messages=MESSAGES,
        tools=[tool],
        tool_choice="auto",
    )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"
    sent = router.vllm.log.bodies[-1]
    assert sent["tools"] == [tool] and sent["tool_choice"] == "auto"


async def test_embeddings_and_completions(router: Router) -> None:
    client = sdk(router)
    embedded = await client.embeddings.create(
        model="embed-model", input=["one", "two"], encoding_format="float"
    )
    assert [d.embedding for d in embedded.data] == [[0.125, -0.5, 0.0], [0.125, -0.5, 1.0]]
    completed = await client.completions.create(model="chat-model", prompt="Once", max_tokens=3)
    assert completed.choices[0].text == " ".join(REPLY.split(" ")[:3])
    assert router.vllm.log.bodies[-1]["max_tokens"] == 3


async def test_models_lists_what_the_key_may_use_with_readiness(router: Router) -> None:
    key = router.new_key(allowed_models=["chat-model", "embed-model", "gone-model"])
    page = await sdk(router, key).models.list()
    ids = ["chat-model", "claude-sonnet-4-5", "embed-model", "gpt-5"]
    assert sorted(m.id for m in page.data) == ids
    assert all(m.model_extra and m.model_extra["ready"] is True for m in page.data)
    extras = {m.id: m.model_extra or {} for m in page.data}
    aliases = {name: extra["alias_of"] for name, extra in extras.items() if "alias_of" in extra}
    assert aliases == {"gpt-5": "chat-model", "claude-sonnet-4-5": "chat-model"}


async def test_one_model_is_retrieved_by_its_name_or_an_alias(router: Router) -> None:
    client = sdk(router, router.new_key(allowed_models=["chat-model"]))
    model = await client.models.retrieve("chat-model")
    assert (model.id, model.object, model.owned_by) == ("chat-model", "model", "aistrale")
    alias = await client.models.retrieve("gpt-5")
    assert alias.id == "gpt-5" and alias.model_extra == {"ready": True, "alias_of": "chat-model"}
    for hidden in ("embed-model", "no-such-model", "org/with-slash"):  # not allowed, unknown
        with pytest.raises(openai.NotFoundError) as raised:
            await client.models.retrieve(hidden)
        assert raised.value.code == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        await sdk(router, "sk-wrong").models.retrieve("chat-model")


async def test_an_alias_is_served_limited_and_metered_as_its_model(router: Router) -> None:
    client = sdk(router, router.new_key(allowed_models=["chat-model"]))
    raw = await client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5", messages=MESSAGES
    )
    assert raw.parse().choices[0].message.content == REPLY
    assert router.vllm.log.bodies[-1]["model"] == "fake-chat"
    event = await router.usage.wait_for(raw.headers["x-request-id"])
    assert (event.model, event.served_model, event.status) == ("chat-model", "fake-chat", 200)
    only_alias = sdk(router, router.new_key(allowed_models=["gpt-5"]))
    answered = await only_alias.chat.completions.create(model="gpt-5", messages=MESSAGES)
    assert answered.choices[0].message.content == REPLY


@pytest.mark.parametrize(
    ("model", "error", "status", "code"),
    [
        ("no-such-model", openai.NotFoundError, 404, "model_not_found"),
        ("secret-model", openai.PermissionDeniedError, 403, "model_not_allowed"),
        ("broken-model", openai.InternalServerError, 502, "upstream_error"),
        ("slow-model", openai.InternalServerError, 504, "upstream_timeout"),
    ],
)
async def test_errors_have_openai_shapes_and_statuses(
    router: Router, model: str, error: type[openai.APIStatusError], status: int, code: str
) -> None:
    with pytest.raises(error) as raised:
        await sdk(router).chat.completions.create(model=model, messages=MESSAGES)
    assert raised.value.status_code == status
    assert raised.value.code == code
    assert raised.value.response.headers.get("x-request-id")
    body = raised.value.response.json()
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    if model in ("broken-model", "slow-model"):
        event = await router.usage.wait_for(raised.value.response.headers["x-request-id"])
        # A 500 is retried once, then given up; a timeout is not retried on the deployment
        # that timed out (it is busy with this very request), and there is no other.
        assert event.status == status and event.attempts == (2 if model == "broken-model" else 1)


async def test_a_bad_key_is_401(router: Router) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        await sdk(router, "sk-not-a-key").chat.completions.create(
            model="chat-model",
            messages=MESSAGES,
        )
    assert raised.value.code == "invalid_api_key"


async def test_a_failing_model_falls_back(router: Router) -> None:
    raw = await sdk(router).chat.completions.with_raw_response.create(
        model="flaky-model",
        messages=MESSAGES,
    )
    assert raw.parse().choices[0].message.content == REPLY
    event = await router.usage.wait_for(raw.headers["x-request-id"])
    assert (event.fallback_from, event.served_model, event.attempts) == (
        "flaky-model",
        "fake-chat",
        2,
    )


async def test_a_provider_adapter_serves_chat_and_streams(router: Router) -> None:
    client = sdk(router)
    raw = await client.chat.completions.with_raw_response.create(
        model="adapted-model", messages=MESSAGES
    )
    assert raw.parse().choices[0].message.content == REPLY
    event = await router.usage.wait_for(raw.headers["x-request-id"])
    assert event.provider == "openai" and not event.tokens_estimated
    stream = await client.chat.completions.create(
        model="adapted-model", messages=MESSAGES, stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert all(c.usage is None for c in chunks)
    event = await router.usage.wait_for(stream.response.headers["x-request-id"])
    assert event.completion_tokens == len(REPLY.split(" ")) and event.status == 200


async def test_rate_limits_and_budgets_answer_429_with_openai_headers(router: Router) -> None:
    limited = sdk(router, router.new_key(rpm_limit=1))
    first = await limited.chat.completions.with_raw_response.create(
        model="chat-model", messages=MESSAGES
    )
    assert first.headers["x-ratelimit-limit-requests"] == "1"
    with pytest.raises(openai.RateLimitError) as raised:
        await limited.chat.completions.create(model="chat-model", messages=MESSAGES)
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.response.headers.get("retry-after")
    budget = {"scope": "org", "scope_id": "org-poor", "limit_micro_usd": 1, "period": "total"}
    poor = sdk(router, router.new_key(org_id="org-poor", budgets=[budget]))
    with pytest.raises(openai.RateLimitError) as raised:
        await poor.chat.completions.create(model="chat-model", messages=MESSAGES)
    assert raised.value.code == "insufficient_quota"
