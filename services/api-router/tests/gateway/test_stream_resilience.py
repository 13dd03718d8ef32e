"""Streams that stop without ending, through a real router process and the openai SDK: an
upstream that answers 200 and then sends nothing is failed over before the first byte; one
that goes idle mid-stream, or is cut, ends in an SSE error event, and its partial usage is
metered."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
import yaml
from openai.types.chat import ChatCompletionMessageParam

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import REPLY, FakeVllm
from aistrale_testkit.router.harness import PRICING, UsageEvents, router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread

from .scripted_upstream import ScriptedUpstream

ASK: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]


@dataclass
class Stack:
    url: str
    scripted: ScriptedUpstream
    userorg: FakeUserOrg
    usage: UsageEvents

    def client(self) -> openai.AsyncOpenAI:
        token = "sk-test-" + secrets.token_hex(16)
        record = {"key_id": "key_" + secrets.token_hex(4), "org_id": "org_s", "status": "active"}
        self.userorg.add_key(token, KeyRecord.model_validate(record))
        return open_sdk(self.url + "/v1", token, timeout=30)


@pytest.fixture(scope="module")
async def scripted() -> AsyncIterator[ScriptedUpstream]:
    server = await ScriptedUpstream().start()
    yield server
    await server.stop()


def _catalog(vllm_url: str, scripted: ScriptedUpstream) -> dict[str, Any]:
    def entry(name: str, base: str, model: str, **more: Any) -> dict[str, Any]:
        deployment = {"provider": "vllm", "base_url": base, "model": model}
        return {"name": name, "deployments": [deployment], "pricing": PRICING, **more}

    return {
        "models": [
            entry("chat-model", f"{vllm_url}/v1", "fake-chat"),
            entry("silent", scripted.base("silent"), "up", fallbacks=["chat-model"]),
            entry("silent-only", scripted.base("silent"), "up"),
            entry("idle", scripted.base("idle"), "up"),
        ]
    }


@pytest.fixture(scope="module")
def stack(
    infra: Infra,
    tmp_path_factory: pytest.TempPathFactory,
    scripted: ScriptedUpstream,
    usage_events: UsageEvents,
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stream-resilience")
    vllm = FakeVllm()
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(vllm_url, scripted)))
        env = {  # the first event within 1 s (the harness's first-byte timeout), then 1.5 s idle
            "AISTRALE_UPSTREAM_CHUNK_TIMEOUT_S": "1.5",
        }
        with router_process(infra, tmp, userorg_url, userorg.service_token, models, env) as url:
            yield Stack(url, scripted, userorg, usage_events)


async def test_a_stream_with_no_first_event_fails_over_before_the_first_byte(
    stack: Stack,
) -> None:
    before = stack.scripted.requests["silent"]
    raw = await stack.client().chat.completions.with_raw_response.create(
        model="silent", messages=ASK, stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
    assert text.split() == REPLY.split()  # the whole answer, from the next deployment
    assert stack.scripted.requests["silent"] == before + 1
    event = await stack.usage.wait_for(raw.request_id or "")
    assert event.status == 200 and event.attempts == 2 and event.fallback_from == "silent"


async def test_no_first_event_anywhere_is_a_504_not_a_stream(stack: Stack) -> None:
    with pytest.raises(openai.APIStatusError) as refused:
        await stack.client().chat.completions.create(model="silent-only", messages=ASK, stream=True)
    assert refused.value.status_code == 504
    assert refused.value.response.headers["content-type"].startswith("application/json")


async def test_an_idle_stream_ends_in_an_error_event_and_is_metered(stack: Stack) -> None:
    raw = await stack.client().chat.completions.with_raw_response.create(
        model="idle", messages=ASK, stream=True
    )
    received: list[str] = []
    with pytest.raises(openai.APIError, match="stopped sending mid-stream"):
        async for chunk in raw.parse():
            received.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(received) == "Hel"  # what came before the silence reached the client
    event = await stack.usage.wait_for(raw.request_id or "")
    assert event.status == 504 and event.completion_tokens >= 1  # partial usage metered
