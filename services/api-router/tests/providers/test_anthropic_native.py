"""The native Anthropic adapter alone: what it sends, what it makes of odd answers, and its
relay over Anthropic's events split anywhere (the SDK's own types check what comes out)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_common.errors import QuotaExceeded, UpstreamFailed
from aistrale_router.providers.anthropic_native import AnthropicNativeAdapter, NativeMessagesRelay
from aistrale_router.providers.base import Endpoint, NativeBody, ProviderTarget
from aistrale_router.streaming.sse import SseParser
from aistrale_testkit.router import fake_anthropic

EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
BODY: dict[str, Any] = {
    "model": "claude",
    "max_tokens": 900,
    "messages": [{"role": "user", "content": "Hi"}],
    "thinking": {"type": "enabled", "budget_tokens": 512},
    "stream": True,
}
TARGET = ProviderTarget("https://api.anthropic.test", "claude-up", "sk-ant-x")


class _Request:
    endpoint: Endpoint = "chat"
    model = "claude"
    max_tokens_field = "max_tokens"
    prompt_estimate = 9

    def __init__(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.body = body
        self.native = NativeBody("messages", "anthropic", body, headers or {})

    def upstream_body(self, upstream_model: str, max_tokens: int | None) -> bytes:
        raise AssertionError("the native adapter sends the native body")


class _Upstream:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def test_the_body_goes_as_written_with_the_deployments_model_and_a_lowered_max() -> None:
    request = _Request(BODY, {"anthropic-beta": "b1", "anthropic-version": "2024-01-01"})
    prepared = AnthropicNativeAdapter().prepare(request, TARGET, 300)
    assert orjson.loads(prepared.body) == {**BODY, "model": "claude-up", "max_tokens": 300}
    assert prepared.url == "https://api.anthropic.test/v1/messages"
    assert prepared.headers["anthropic-beta"] == "b1"
    assert prepared.headers["anthropic-version"] == "2024-01-01"
    assert prepared.headers["x-api-key"] == "sk-ant-x"
    assert prepared.headers["accept"] == "text/event-stream"
    default = AnthropicNativeAdapter().prepare(_Request({**BODY, "stream": False}), TARGET, None)
    assert default.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in default.headers
    assert orjson.loads(default.body)["max_tokens"] == 900


def test_an_answer_names_the_asked_model_and_counts_cache_tokens() -> None:
    message = fake_anthropic.answer({**BODY, "system": [{"type": "text", "text": "s",
                                     "cache_control": {"type": "ephemeral"}}]})  # fmt: skip
    raw = orjson.dumps(message.model_dump(mode="json"))
    answer = AnthropicNativeAdapter().complete(raw, None, _Request(BODY), TARGET, "r")
    assert orjson.loads(answer.body)["model"] == "claude"
    assert orjson.loads(answer.body)["content"][0]["type"] == "thinking"
    assert (answer.usage.prompt_tokens, answer.usage.cached_tokens) == (11 + 5 + 7, 5)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"content": "x", "usage": {}}', b'{"content": []}'],
)
def test_an_answer_that_is_not_a_message_is_a_502(body: bytes) -> None:
    with pytest.raises(UpstreamFailed):
        AnthropicNativeAdapter().complete(body, None, _Request(BODY), TARGET, "r")


def test_usage_that_is_not_numbers_counts_zero() -> None:
    odd = {"content": [], "usage": {"input_tokens": "many", "output_tokens": [1]}}
    answer = AnthropicNativeAdapter().complete(orjson.dumps(odd), None, _Request(BODY), TARGET, "")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (0, 0)


async def _stream_bytes() -> bytes:
    message = fake_anthropic.answer(BODY)
    return b"".join([chunk async for chunk in fake_anthropic._stream(message, "hi")])


async def _relay(chunks: list[bytes], budget: Any = None) -> tuple[NativeMessagesRelay, bytes]:
    relay = NativeMessagesRelay(
        _Upstream(chunks),  # type: ignore[arg-type]
        budget=budget,
        prompt_estimate=9,
        model="claude",
    )
    return relay, b"".join([chunk async for chunk in relay])


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
async def test_events_split_anywhere_come_out_whole_and_sdk_valid(size: int) -> None:
    whole = await _stream_bytes()
    relay, out = await _relay([whole[i : i + size] for i in range(0, len(whole), size)])
    events = [orjson.loads(e.data) for e in SseParser().feed(out)]
    for event in events:
        if event["type"] != "ping":
            EVENT.validate_python(event)
    assert events[0]["message"]["model"] == "claude" and events[-1]["type"] == "message_stop"
    assert relay.completed and relay.error is None
    usage = relay.final_usage()
    assert usage.prompt_tokens == 11 and usage.completion_tokens == len(fake_anthropic.WORDS) + 3


async def test_a_budget_that_runs_out_ends_in_anthropics_error_event() -> None:
    whole = await _stream_bytes()
    chunks = [e + b"\n\n" for e in whole.split(b"\n\n") if e]

    async def budget(tokens: int) -> bool:
        return tokens < 2

    relay, out = await _relay(chunks, budget)
    last = SseParser().feed(out)[-1]
    assert last.event == "error" and orjson.loads(last.data)["type"] == "error"
    assert isinstance(relay.error, QuotaExceeded)
    assert relay.final_usage().completion_tokens >= 2


async def test_a_stream_without_message_stop_ends_in_an_error_event() -> None:
    whole = await _stream_bytes()
    cut = whole[: whole.index(b"event: message_delta")]
    relay, out = await _relay([cut])
    assert SseParser().feed(out)[-1].event == "error"
    assert isinstance(relay.error, UpstreamFailed) and not relay.completed
    assert relay.final_usage().completion_tokens >= len(fake_anthropic.WORDS)


async def test_an_event_that_is_not_an_object_ends_the_stream_with_an_error_event() -> None:
    relay, out = await _relay([b"event: message_start\ndata: [1, 2]\n\n"])
    assert SseParser().feed(out)[-1].event == "error" and relay.error is not None
