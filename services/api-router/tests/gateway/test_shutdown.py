"""SIGTERM with requests in flight, through a real router process and the openai SDK
(docs/decisions/router-graceful-shutdown.md): what ends within the grace ends whole; what
would run longer is ended by the router with an explicit error (an SSE error event and
`[DONE]` for a stream, a 503 for a request still waiting for its answer), never cut
silently; and every one of them has its usage event, with its status, on RabbitMQ."""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import openai
import pytest
import yaml
from openai.types.chat import ChatCompletionChunk

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import ServiceProcess
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import REPLY, FakeVllm
from aistrale_testkit.router.harness import (
    KEY_MODELS,
    UsageEvents,
    catalog_for,
    router_service,
)
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread

GRACE_S = 4.0
WORD_DELAY_S = 0.1  # the short stream: 14 words, about 1.4 s; the long one: 28 s


@dataclass
class Stack:
    router: ServiceProcess
    vllm: FakeVllm
    key: str
    usage: UsageEvents


@pytest.fixture
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, usage_events: UsageEvents
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("shutdown")
    vllm = FakeVllm(word_delay_s=WORD_DELAY_S, slow_s=30.0)
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    key = "sk-test-" + secrets.token_hex(16)
    record = {"key_id": "key_shutdown", "org_id": "org_shutdown", "status": "active"}
    userorg.add_key(key, KeyRecord.model_validate({**record, "allowed_models": KEY_MODELS}))
    env = {
        "AISTRALE_SHUTDOWN_GRACE_S": str(GRACE_S),
        "AISTRALE_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "60",  # the slow answer outlives the grace
    }
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        with router_service(infra, tmp, userorg_url, userorg.service_token, models, env) as router:
            yield Stack(router, vllm, key, usage_events)


async def test_sigterm_drains_what_fits_the_grace_and_ends_the_rest_explicitly(
    stack: Stack,
) -> None:
    sdk = open_sdk(stack.router.url + "/v1", stack.key, timeout=60)
    short = await sdk.chat.completions.create(
        model="chat-model", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    long = await sdk.chat.completions.create(
        model="chat-model", messages=[{"role": "user", "content": "SLOW_STREAM"}], stream=True
    )
    waiting = asyncio.ensure_future(
        sdk.chat.completions.with_raw_response.create(
            model="slow-model", messages=[{"role": "user", "content": "take your time"}]
        )
    )
    short_text = [await _first_text(short)]
    long_text = [await _first_text(long)]
    await _until(lambda: any(b.get("model") == "fake-slow" for b in stack.vllm.log.bodies))

    stack.router.proc.send_signal(signal.SIGTERM)
    sigterm = time.monotonic()
    short_text += [c.choices[0].delta.content or "" async for c in short if c.choices]
    short_done = time.monotonic() - sigterm
    with pytest.raises(openai.APIError) as cut:
        async for chunk in long:
            long_text += [chunk.choices[0].delta.content or "" for _ in chunk.choices[:1]]
    long_done = time.monotonic() - sigterm
    with pytest.raises(openai.InternalServerError) as refused:
        await waiting
    exit_code = await asyncio.to_thread(stack.router.proc.wait, 30)

    # (a) the short stream was whole, (b) the long one ended with an error event at the
    # cutoff (not a dropped connection: that would be an APIConnectionError), the waiting
    # request got a 503 then, and the process exited once all of them were done.
    assert "".join(short_text) == REPLY and short_done < GRACE_S
    assert not isinstance(cut.value, openai.APIConnectionError), cut.value
    assert isinstance(cut.value.body, dict) and cut.value.body["code"] == "server_shutting_down"
    assert cut.value.body["type"] == "server_error"
    assert GRACE_S - 0.5 < long_done < GRACE_S + 4, long_done
    assert 1 < len(long_text) < 560  # some words came, far from all of them
    assert refused.value.status_code == 503
    error = refused.value.response.json()["error"]
    assert error["code"] == "server_shutting_down" and "shutting down" in error["message"]
    assert exit_code in (0, -signal.SIGTERM), stack.router.log()
    assert stack.vllm.log.streams_cancelled >= 1  # the long stream's upstream was closed

    # (c) every one of them is metered, with its status, before the router stopped.
    events = {
        "short": await stack.usage.wait_for(short.response.headers["x-request-id"]),
        "long": await stack.usage.wait_for(long.response.headers["x-request-id"]),
        "waiting": await stack.usage.wait_for(refused.value.response.headers["x-request-id"]),
    }
    assert (events["short"].status, events["short"].error_type) == (200, None)
    assert events["short"].completion_tokens == len(REPLY.split(" "))
    for name in ("long", "waiting"):
        assert (events[name].status, events[name].error_type) == (503, "server_shutting_down")
    assert events["long"].completion_tokens >= len(long_text) - 1  # what it was sent
    assert events["long"].cost_micro_usd > 0


async def _first_text(stream: openai.AsyncStream[ChatCompletionChunk]) -> str:
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            return chunk.choices[0].delta.content
    raise AssertionError("the stream ended before its first word")


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)
