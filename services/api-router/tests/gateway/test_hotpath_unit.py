"""Request parsing, upstream bodies, SSE relay, cost, and deployment choice."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import orjson
import pytest

from aistrale_common.errors import InvalidRequest
from aistrale_router.catalog.schema import Catalog, Pricing
from aistrale_router.gateway.metering import Tokens, cost_micro_usd
from aistrale_router.gateway.request import parse_request
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.settings import Settings
from aistrale_router.upstream.client import build_upstream_client
from aistrale_router.upstream.relay import StreamRelay


def test_the_client_body_is_forwarded_as_is_when_nothing_changes() -> None:
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1}'
    request = parse_request(raw, "chat")
    assert request.upstream_body("m", None) is raw
    changed = orjson.loads(request.upstream_body("upstream-m", 7))
    assert changed == {**orjson.loads(raw), "model": "upstream-m", "max_tokens": 7}


def test_streams_ask_upstream_for_usage_and_keep_other_stream_options() -> None:
    raw = orjson.dumps({"model": "m", "prompt": "x", "stream": True, "stream_options": {"x": 1}})
    request = parse_request(raw, "completions")
    assert request.stream and not request.wants_usage
    body = orjson.loads(request.upstream_body("m", None))
    assert body["stream_options"] == {"x": 1, "include_usage": True}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"model": "m", "messages": [], "stream": "yes"}',
        b'{"model": "m", "messages": [1], "max_tokens": -1}',
        b'{"model": 3, "input": "x"}',
    ],
)
def test_bad_fields_are_invalid_requests(raw: bytes) -> None:
    with pytest.raises(InvalidRequest):
        parse_request(raw, "chat")


def test_cost_is_integer_micro_usd_rounded_up() -> None:
    pricing = Pricing(
        input_micro_usd_per_mtok=150_000,
        output_micro_usd_per_mtok=600_000,
        cached_input_micro_usd_per_mtok=75_000,
    )
    # 1000 prompt (400 cached) and 10 completion tokens
    cost = cost_micro_usd(pricing, Tokens(prompt=1000, completion=10, cached=400))
    assert cost == -(-(600 * 150_000 + 400 * 75_000 + 10 * 600_000) // 1_000_000) == 126
    assert cost_micro_usd(None, Tokens(prompt=5)) == 0


async def _relay(
    chunks: list[bytes], *, hide_usage: bool, budget: Callable[[int], Awaitable[bool]] | None = None
) -> tuple[bytes, StreamRelay]:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    client = build_upstream_client(Settings(), httpx.MockTransport(handler))
    response = await client.post("http://up/v1/chat/completions", {}, b"{}")
    relay = StreamRelay(response, hide_usage=hide_usage, budget=budget)
    out = b"".join([part async for part in relay])
    await client.close()
    return out, relay


SSE = (
    b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":3,'
    b'"completion_tokens":2}}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)


async def test_relay_hides_usage_from_clients_that_did_not_ask_in_any_split() -> None:
    for size in (1, 7, len(SSE)):
        parts = [SSE[i : i + size] for i in range(0, len(SSE), size)]
        out, relay = await _relay(parts, hide_usage=True)
        assert b"usage" not in out and out.endswith(b"data: [DONE]\n\n")
        assert out.count(b"data: ") == 3
        assert relay.usage == {"prompt_tokens": 3, "completion_tokens": 2} and relay.completed


async def test_relay_keeps_usage_for_clients_that_asked() -> None:
    out, _ = await _relay([SSE], hide_usage=False)
    assert out == SSE


OPENAI_STREAM = [  # OpenAI's own framing: a role chunk first, a finish chunk with no delta
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c"}]}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b'data: {"choices":[{"index":0,"text":"","finish_reason":"stop"}]}\n\n',
    b'data: {"choices":[{"index":0,"text":"x"}]}\n\n',
    b"data: [DONE]\n\n",
]


async def test_only_chunks_with_tokens_count_against_the_budget() -> None:
    seen: list[int] = []

    async def budget(tokens: int) -> bool:
        seen.append(tokens)
        return tokens <= 3  # pays for exactly the three chunks that carry tokens

    out, relay = await _relay(OPENAI_STREAM, hide_usage=True, budget=budget)
    assert b"error" not in out and relay.completed and relay.error is None
    # No check after `[DONE]`: the answer is whole, nothing is left to stop.
    assert seen == [0, 1, 2, 2, 2, 3] and relay.token_chunks == 3 and relay.finished


def catalog() -> Catalog:
    def model(name: str, deployments: list[tuple[str, int]], fallbacks: list[str]) -> object:
        return {
            "name": name,
            "deployments": [
                {"provider": "vllm", "base_url": f"http://{d}/v1", "model": name, "weight": w}
                for d, w in deployments
            ],
            "fallbacks": fallbacks,
        }

    return Catalog.model_validate(
        {"models": [model("a", [("a1", 3), ("a2", 1)], ["b"]), model("b", [("b1", 1)], [])]}
    )


def test_picker_weights_load_and_fallbacks() -> None:
    states = DeploymentStates(failures=2, open_s=10, clock=lambda: 0.0)
    picker = DeploymentPicker(states, random.Random(7))
    cat = catalog()
    model = cat.get("a")
    assert model is not None
    firsts = [picker.plan(cat, model, "chat")[0].deployment.id for _ in range(400)]
    assert 0.65 < firsts.count("vllm:http://a1/v1") / 400 < 0.85  # weight 3:1, two choices
    plan = picker.plan(cat, model, "chat")
    assert [t.fallback_from for t in plan] == [None, None, "a"]
    for _ in range(2):  # a1 fails twice: its breaker opens
        states.started("vllm:http://a1/v1")
        states.finished("vllm:http://a1/v1", ok=False)
    ids = [t.deployment.id for t in picker.plan(cat, model, "chat")]
    assert ids == ["vllm:http://a2/v1", "vllm:http://b1/v1"]


def test_breaker_lets_one_trial_through_after_open_s() -> None:
    now = [0.0]
    states = DeploymentStates(failures=1, open_s=10, clock=lambda: now[0])
    states.started("d")
    states.finished("d", ok=False)
    assert not states.available("d")
    now[0] = 10.0
    assert states.available("d")
    states.started("d")
    assert not states.available("d")  # the trial is running
    states.finished("d", ok=True)
    assert states.available("d")
