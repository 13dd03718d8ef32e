"""The queue through a real router process and the openai SDK: a deployment capped at one
request in flight, in front of a fake vLLM that takes a while to answer (`fake-slow`)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
import yaml

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import PRICING, router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread

SLOW_S = 0.6  # how long the fake takes to answer `fake-slow`


@dataclass
class Stack:
    url: str
    vllm: FakeVllm
    userorg: FakeUserOrg

    def client(self, timeout: float = 30) -> openai.AsyncOpenAI:
        token = "sk-test-" + secrets.token_hex(16)
        record = {"key_id": "key_" + secrets.token_hex(4), "org_id": "org_q", "status": "active"}
        self.userorg.add_key(token, KeyRecord.model_validate(record))
        return open_sdk(self.url + "/v1", token, timeout=timeout)

    async def metrics(self) -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(self.url + "/metrics")).text


def _catalog(vllm_url: str) -> dict[str, Any]:
    def capped(name: str, wait_s: float) -> dict[str, Any]:
        deployment = {
            "provider": "vllm",
            "base_url": f"{vllm_url}/v1",
            "model": "fake-slow",
            "name": f"{name}-deployment",  # each its own in-flight count
            "max_concurrency": 1,
        }
        return {
            "name": name,
            "deployments": [deployment],
            "pricing": PRICING,
            "queue_wait_s": wait_s,
        }

    return {
        "models": [
            capped("capped", 10.0),
            capped("capped-short", 0.2),
            capped("capped-nowait", 0.0),
            capped("capped-full", 10.0),
        ]
    }


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("queue")
    vllm = FakeVllm(slow_s=SLOW_S)
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(vllm_url)))
        env = {"AISTRALE_QUEUE_MAX_DEPTH": "1", "AISTRALE_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "10"}
        with router_process(infra, tmp, userorg_url, userorg.service_token, models, env) as url:
            yield Stack(url, vllm, userorg)


async def ask(client: openai.AsyncOpenAI, model: str) -> str:
    answer = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=5
    )
    return answer.choices[0].message.content or ""


async def running(stack: Stack, count: int) -> None:
    """Until the fake has `count` requests of the capped deployments in hand."""
    for _ in range(200):
        if stack.vllm.log.running + stack.vllm.log.waiting >= count or _slow(stack) >= count:
            return
        await asyncio.sleep(0.01)


def _slow(stack: Stack) -> int:
    return sum(1 for b in stack.vllm.log.bodies if b.get("model") == "fake-slow")


async def test_a_second_request_waits_for_the_first_and_succeeds(stack: Stack) -> None:
    client = stack.client()
    before = _slow(stack)
    first = asyncio.create_task(ask(client, "capped"))
    await running(stack, before + 1)
    second = asyncio.create_task(ask(client, "capped"))
    await asyncio.sleep(SLOW_S / 3)
    assert _slow(stack) == before + 1  # the second is waiting in the router, not upstream
    answers = await asyncio.gather(first, second)
    assert all(answers) and _slow(stack) == before + 2
    text = await stack.metrics()
    assert (
        'aistrale_api_router_queue_wait_seconds_count{outcome="admitted",priority="0",reason="concurrency"}'
        in text
    )
    assert "aistrale_api_router_queue_depth 0.0" in text


async def test_waiting_past_the_models_limit_is_a_429_with_retry_after(stack: Stack) -> None:
    client = stack.client()
    before = _slow(stack)
    first = asyncio.create_task(ask(client, "capped-short"))
    await running(stack, before + 1)
    with pytest.raises(openai.RateLimitError) as refused:
        await ask(client, "capped-short")
    assert refused.value.response.headers["retry-after"] == "1"
    assert await first
    assert "aistrale_api_router_queue_wait_seconds_count" in await stack.metrics()


async def test_without_a_wait_a_full_deployment_is_a_429_at_once(stack: Stack) -> None:
    client = stack.client()
    before = _slow(stack)
    first = asyncio.create_task(ask(client, "capped-nowait"))
    await running(stack, before + 1)
    with pytest.raises(openai.RateLimitError):
        await ask(client, "capped-nowait")
    assert await first


async def test_a_full_queue_is_a_429_with_retry_after(stack: Stack) -> None:
    client = stack.client()
    before = _slow(stack)
    first = asyncio.create_task(ask(client, "capped-full"))
    await running(stack, before + 1)
    queued = asyncio.create_task(ask(client, "capped-full"))  # the queue's one place
    await asyncio.sleep(SLOW_S / 4)
    with pytest.raises(openai.RateLimitError) as refused:
        await ask(client, "capped-full")
    assert refused.value.code == "queue_full"
    assert refused.value.response.headers["retry-after"] == "1"
    assert all(await asyncio.gather(first, queued))


async def test_a_client_that_leaves_while_waiting_is_out_of_the_queue(stack: Stack) -> None:
    before = _slow(stack)
    first = asyncio.create_task(ask(stack.client(), "capped"))
    await running(stack, before + 1)
    impatient = stack.client(timeout=SLOW_S / 4)
    with pytest.raises(openai.APITimeoutError):
        await ask(impatient, "capped")
    for _ in range(100):
        if "aistrale_api_router_queue_depth 0.0" in await stack.metrics():
            break
        await asyncio.sleep(0.02)
    assert "aistrale_api_router_queue_depth 0.0" in await stack.metrics()
    assert await first
    await asyncio.sleep(0.1)
    assert _slow(stack) == before + 1  # the one that left never went upstream
