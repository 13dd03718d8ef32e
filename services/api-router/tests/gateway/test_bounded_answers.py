"""Issue 21's router items through a real router process (the lean upstream client) in
front of the fake vLLM and a scripted raw upstream: streams cut short end in an error event
for every provider, generation is always bounded and cancelled when nobody waits, timeouts
and 503s are not retried on the same deployment, the prompt estimate covers the chat
template, x-ratelimit-* headers, helpful 404s, the catalog name echoed, special tokens of
a local llama.cpp model stripped."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import orjson
import pytest
import yaml
from openai.types.chat import ChatCompletionMessageParam

from aistrale_router.keys.record import KeyRecord
from aistrale_router.text.prompt_estimate import chat_prompt_tokens
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import PRICING, UsageEvents, router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread

from .scripted_upstream import ScriptedUpstream

ASK: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the capital of France?"}
]
MAX_OUTPUT = 77
FAKE_KEY = "fake-provider-key"


@dataclass
class Stack:
    url: str
    vllm: FakeVllm
    scripted: ScriptedUpstream
    userorg: FakeUserOrg
    usage: UsageEvents

    def key(self, **fields: Any) -> str:
        token = "sk-test-" + secrets.token_hex(16)
        record = {"key_id": "key_" + secrets.token_hex(4), "org_id": "org_b", "status": "active"}
        self.userorg.add_key(token, KeyRecord.model_validate({**record, **fields}))
        return token


@pytest.fixture(scope="module")
async def scripted() -> AsyncIterator[ScriptedUpstream]:
    server = await ScriptedUpstream().start()
    yield server
    await server.stop()


def _catalog(vllm_url: str, scripted: ScriptedUpstream) -> dict[str, Any]:
    def entry(name: str, provider: str, base: str, model: str, **more: Any) -> dict[str, Any]:
        deployment = {"provider": provider, "base_url": base, "model": model}
        deployment.update(more.pop("deployment", {}))
        return {"name": name, "deployments": [deployment], **more}

    vllm = f"{vllm_url}/v1"
    anthropic = {"api_key_env": "AISTRALE_TEST_ANTHROPIC_KEY"}
    gemini = {"api_key_env": "AISTRALE_TEST_GEMINI_KEY"}
    return {
        "models": [
            entry("chat-model", "vllm", vllm, "fake-chat", max_output_tokens=MAX_OUTPUT),
            entry("slow-model", "vllm", vllm, "fake-slow"),
            entry(
                "small-context",
                "vllm",
                vllm,
                "fake-chat",
                max_output_tokens=500,
                context_window=100,
            ),
            entry("bare-done", "vllm", scripted.base("bare-done"), "up"),
            entry("cut", "openai-compatible", scripted.base("cut"), "up"),
            entry(
                "anthropic-cut",
                "anthropic",
                scripted.base("anthropic-cut"),
                "claude-x",
                deployment=anthropic,
            ),
            entry(
                "gemini-cut",
                "gemini",
                scripted.base("gemini-cut", "/v1beta"),
                "gemini-x",
                deployment=gemini,
            ),
            entry("loading", "openai-compatible", scripted.base("loading"), "up"),
            entry("traceback", "openai-compatible", scripted.base("traceback"), "up"),
            entry(
                "smollm2-135m",
                "openai-compatible",
                scripted.base("llama"),
                "smollm2-135m",
                deployment={"engine": "llama.cpp"},
            ),
            entry(
                "template",
                "openai-compatible",
                scripted.base("template"),
                "counted",
                pricing=PRICING,
                max_output_tokens=500,
            ),
        ]
    }


@pytest.fixture(scope="module")
def stack(
    infra: Infra,
    tmp_path_factory: pytest.TempPathFactory,
    scripted: ScriptedUpstream,
    usage_events: UsageEvents,
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("bounded")
    vllm = FakeVllm(slow_s=3.0)
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(vllm_url, scripted)))
        env = {
            "AISTRALE_TEST_ANTHROPIC_KEY": FAKE_KEY,
            "AISTRALE_TEST_GEMINI_KEY": FAKE_KEY,
            "AISTRALE_UPSTREAM_MAX_ATTEMPTS": "3",
        }
        with router_process(infra, tmp, userorg_url, userorg.service_token, models, env) as url:
            yield Stack(url, vllm, scripted, userorg, usage_events)


async def _post(stack: Stack, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        return await client.post("/v1/chat/completions", json=body, headers=headers)


def _events(answer: httpx.Response) -> list[str]:
    return [e.removeprefix("data: ") for e in answer.text.split("\n\n") if e]


# 1. A stream without a finish reason ends in an error event, for every provider.


@pytest.mark.parametrize("model", ["bare-done", "cut", "anthropic-cut", "gemini-cut"])
async def test_a_stream_cut_short_ends_in_an_error_event(stack: Stack, model: str) -> None:
    key = stack.key()
    answer = await _post(stack, key, {"model": model, "messages": ASK, "stream": True})
    assert answer.status_code == 200
    events = _events(answer)
    assert events[-1] == "[DONE]", answer.text
    error = orjson.loads(events[-2])["error"]
    assert error["code"] == "upstream_error"
    assert "before the answer was complete" in error["message"]
    assert any("Hel" in e or "Paris" in e for e in events[:-2]), answer.text  # content came
    event = await stack.usage.wait_for(answer.headers["x-request-id"])
    assert event.status == 502 and event.completion_tokens >= 1  # partial usage metered

    client = open_sdk(stack.url + "/v1", key)
    with pytest.raises(openai.APIError, match="before the answer was complete"):
        async for _ in await client.chat.completions.create(model=model, messages=ASK, stream=True):
            pass


# 2. Generation is always bounded by the catalog's max_output_tokens.


async def test_without_max_tokens_the_models_maximum_is_sent_upstream(stack: Stack) -> None:
    client = open_sdk(stack.url + "/v1", stack.key())
    await client.chat.completions.create(model="chat-model", messages=ASK)
    assert stack.vllm.log.bodies[-1]["max_tokens"] == MAX_OUTPUT
    async for _ in await client.chat.completions.create(
        model="chat-model", messages=ASK, stream=True
    ):
        pass
    assert stack.vllm.log.bodies[-1]["max_tokens"] == MAX_OUTPUT


async def test_the_implicit_maximum_fits_the_context_window(stack: Stack) -> None:
    client = open_sdk(stack.url + "/v1", stack.key())
    await client.chat.completions.create(model="small-context", messages=ASK)
    room = 100 - chat_prompt_tokens(list(ASK))  # the prompt's upper bound is in the window
    assert stack.vllm.log.bodies[-1]["max_tokens"] == room
    await client.chat.completions.create(model="small-context", messages=ASK, max_tokens=90)
    assert stack.vllm.log.bodies[-1]["max_tokens"] == 90  # the client's own is left alone


# 3 and 4. A timeout closes the upstream connection and is not retried there.


async def test_a_timeout_cancels_upstream_and_is_not_retried_on_it(stack: Stack) -> None:
    before_bodies, before_abandoned = len(stack.vllm.log.bodies), stack.vllm.log.requests_abandoned
    answer = await _post(stack, stack.key(), {"model": "slow-model", "messages": ASK})
    assert answer.status_code == 504 and answer.json()["error"]["code"] == "upstream_timeout"
    await asyncio.sleep(0.3)  # the fake polls for the disconnect every 50 ms
    assert len(stack.vllm.log.bodies) == before_bodies + 1  # tried once: no retry on it
    assert stack.vllm.log.requests_abandoned == before_abandoned + 1  # it saw the hang-up


# A client that leaves mid-stream closes the upstream stream too:
# test_keys_streams_catalog.py::test_client_disconnect_stops_upstream_and_meters_what_was_served


# 5. Upstream 503: the client's 503 says when to come back; not retried there.


async def test_a_loading_model_answers_503_with_retry_after(stack: Stack) -> None:
    before = stack.scripted.requests["loading"]
    answer = await _post(stack, stack.key(), {"model": "loading", "messages": ASK})
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "7"
    assert answer.json()["error"]["code"] == "service_unavailable"
    assert stack.scripted.requests["loading"] == before + 1


# 6. The prompt estimate covers the chat template: a budget is never overspent.


async def test_a_budget_is_not_overspent_by_the_chat_template(stack: Stack) -> None:
    budget = 200  # micro-USD; the catalog prices 1 per prompt and 2 per output token
    key_id = "key_" + secrets.token_hex(4)
    rule = {"scope": "key", "scope_id": key_id, "limit_micro_usd": budget, "period": "day"}
    key = stack.key(key_id=key_id, budgets=[rule])
    client = open_sdk(stack.url + "/v1", key)
    answer = await client.chat.completions.create(model="template", messages=ASK, max_tokens=200)
    assert answer.usage is not None
    spent = answer.usage.prompt_tokens + 2 * answer.usage.completion_tokens
    assert answer.usage.completion_tokens > 0 and spent <= budget


# 7. x-ratelimit-* headers on every answer of a key with limits, 429s included.


async def test_every_answer_of_a_limited_key_carries_rate_limit_headers(stack: Stack) -> None:
    key = stack.key(rpm_limit=3, tpm_limit=100_000)
    answers = [
        await _post(stack, key, {"model": "chat-model", "messages": ASK}),
        await _post(stack, key, {"model": "chat-model", "messages": ASK, "stream": True}),
        await _post(stack, key, {"model": "loading", "messages": ASK}),
        await _post(stack, key, {"model": "chat-model", "messages": ASK}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 503, 429]
    for answer in answers:
        for kind in ("requests", "tokens"):
            for name in ("limit", "remaining", "reset"):
                assert f"x-ratelimit-{name}-{kind}" in answer.headers, (answer, answer.headers)
    assert answers[-1].headers["x-ratelimit-remaining-requests"] == "0"


# 8. An unknown model's 404 lists the models that exist.


async def test_an_unknown_model_lists_the_available_ones(stack: Stack) -> None:
    key = stack.key(allowed_models=["chat-model", "template"])
    answer = await _post(stack, key, {"model": "gpt-9", "messages": ASK})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "Available models: `chat-model`, `template`." in error["message"]


# 9 and 11. The catalog name echoed; a local llama.cpp model's special tokens stripped.


async def test_answers_echo_the_catalog_name_and_lose_special_tokens(stack: Stack) -> None:
    client = open_sdk(stack.url + "/v1", stack.key())
    whole = await client.chat.completions.create(model="smollm2-135m", messages=ASK)
    assert whole.model == "smollm2-135m"
    assert whole.choices[0].message.content == "The capital of France is Paris."
    chunks = [
        c
        async for c in await client.chat.completions.create(
            model="smollm2-135m", messages=ASK, stream=True
        )
    ]
    assert {c.model for c in chunks} == {"smollm2-135m"}
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The capital of France is Paris."
    plain = await client.chat.completions.create(model="chat-model", messages=ASK)
    assert plain.model == "chat-model"  # upstream calls it fake-chat
    streamed = [
        c.model
        async for c in await client.chat.completions.create(
            model="chat-model", messages=ASK, stream=True
        )
    ]
    assert set(streamed) == {"chat-model"}


async def test_an_upstream_traceback_never_reaches_the_client(stack: Stack) -> None:
    answer = await _post(stack, stack.key(), {"model": "traceback", "messages": ASK})
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert "site-packages" not in message and "Traceback" not in message, message
