"""One `Usage` from every relay and every whole answer, whichever adapter served it, and
one function that prices it (admission's reservations included)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import orjson

from aistrale_router.gateway.request import parse_request
from aistrale_router.providers import ProviderTarget, default_registry
from aistrale_router.usage import Usage
from aistrale_router.usage.pricing import Rates, affordable_tokens, cost_micro_usd

TARGET = ProviderTarget("http://upstream/v1", "m", None)
REQUEST = parse_request(
    b'{"model": "m", "messages": [{"role": "user", "content": "hello there"}]}', "chat"
)
ANSWER = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hi"},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 9,
        "completion_tokens": 1,
        "total_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 4},
    },
}
STREAM = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],'
    b'"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10,'
    b'"prompt_tokens_details":{"cached_tokens":4}}}\n\n'
    b"data: [DONE]\n\n"
)


class _Response:
    status = 200
    headers: Mapping[str, str] = {"content-type": "text/event-stream"}

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self) -> bytes:
        return self._body

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._body

    async def close(self) -> None:
        return None


async def _streamed(provider: str, body: bytes) -> Usage:
    adapter = default_registry().get(provider)
    relay = adapter.relay(_Response(body), REQUEST, TARGET, "r", hide_usage=True, budget=None)
    async for _ in relay:
        pass
    return relay.final_usage()


async def test_whole_and_streamed_answers_give_the_same_usage_on_both_paths() -> None:
    expected = Usage(9, 1, 4)
    for provider in ("vllm", "openai"):
        adapter = default_registry().get(provider)
        answer = adapter.complete(orjson.dumps(ANSWER), "application/json", REQUEST, TARGET, "r")
        assert answer.usage == expected, provider
        assert await _streamed(provider, STREAM) == expected, provider


async def test_without_usage_the_router_counts_and_says_so() -> None:
    no_usage = {k: v for k, v in ANSWER.items() if k != "usage"}
    adapter = default_registry().get("vllm")
    answer = adapter.complete(orjson.dumps(no_usage), None, REQUEST, TARGET, "r")
    assert answer.usage.estimated and answer.usage.prompt_tokens == REQUEST.prompt_estimate
    assert answer.body == orjson.dumps(no_usage)  # the passthrough's bytes are untouched
    streamed = await _streamed("vllm", STREAM.split(b"\n\n", 1)[0] + b"\n\ndata: [DONE]\n\n")
    assert streamed == Usage(REQUEST.prompt_estimate, 1, 0, estimated=True)


def test_one_function_prices_usage_and_reservations() -> None:
    price = Rates(1_000_000, 2_000_000, 100_000)
    assert cost_micro_usd(Usage(10, 5, 4), price) == -(
        -(6 * 1_000_000 + 4 * 100_000 + 5 * 2_000_000) // 1_000_000
    )
    tokens = affordable_tokens(100, 10, price, want=1_000)
    assert (
        cost_micro_usd(Usage(10, tokens), price)
        <= 100
        < cost_micro_usd(Usage(10, tokens + 1), price)
    )
