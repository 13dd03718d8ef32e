"""End to end at adapter level: a local HTTP server replays the recorded Anthropic and
Gemini fixtures (streamed in small pieces, as a socket would), and the adapters are
driven through a real httpx client, the way the router's forwarding drives them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from aistrale_common.errors import AistraleError, RateLimited, ServiceUnavailable, UpstreamFailed
from aistrale_router.providers import ProviderTarget, Usage, default_registry
from aistrale_router.providers.pricing import resolve_price
from aistrale_router.streaming.sse import SseParser
from aistrale_router.usage.pricing import cost_micro_usd

FIXTURES = Path(__file__).parent / "fixtures"

ANTHROPIC_KEY = "sk-ant-fake-provider-key"
GEMINI_KEY = "AIza-fake-provider-key"
Serve = Callable[[web.Application], Awaitable[str]]


@dataclass
class FakeProvider:
    """Anthropic's and Gemini's routes, answering with the recorded fixtures."""

    received: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.anthropic)
        app.router.add_post("/v1beta/models/{call}", self.gemini)
        return app

    async def anthropic(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append(body)
        if request.headers.get("x-api-key") != ANTHROPIC_KEY:
            return _file(401, "anthropic/error_authentication.json")
        if body["model"] == "claude-busy":
            return _file(529, "anthropic/error_overloaded.json")
        if body["model"] == "claude-limited":
            return _file(429, "anthropic/error_rate_limit.json", {"retry-after": "7"})
        tools = "tool_use" if body.get("tools") else "text"
        if body.get("stream"):
            return await _stream(request, f"anthropic/stream_{tools}.sse")
        return _file(200, f"anthropic/message_{tools}.json")

    async def gemini(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append(body)
        if request.headers.get("x-goog-api-key") != GEMINI_KEY:
            return _file(400, "gemini/error_api_key_invalid.json")
        model, _, action = request.match_info["call"].partition(":")
        if model == "gemini-limited":
            return _file(429, "gemini/error_rate_limit.json")
        kind = "function_call" if body.get("tools") else "text"
        if action == "streamGenerateContent" and request.query.get("alt") == "sse":
            return await _stream(request, f"gemini/stream_{kind}.sse")
        return _file(200, f"gemini/generate_{kind}.json")


def _file(status: int, name: str, headers: dict[str, str] | None = None) -> web.Response:
    body = (FIXTURES / name).read_bytes()
    return web.Response(
        status=status, body=body, content_type="application/json", headers=headers or {}
    )


async def _stream(request: web.Request, name: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    data = (FIXTURES / name).read_bytes()
    for start in range(0, len(data), 64):
        await response.write(data[start : start + 64])
        await asyncio.sleep(0)
    await response.write_eof()
    return response


@dataclass
class Outcome:
    chunks: list[dict[str, Any]]
    usage: Usage


async def call(
    client: httpx.AsyncClient, provider: str, target: ProviderTarget, body: dict[str, Any]
) -> Outcome:
    """What the router's forwarding does with an adapter, in a few lines."""
    adapter = default_registry().translator(provider)
    prepared = adapter.chat_request(body, target)
    request = client.build_request(
        prepared.method, prepared.url, headers=prepared.headers, content=prepared.body
    )
    response = await client.send(request, stream=True)
    try:
        if response.status_code != 200:
            raw = await response.aread()
            raise adapter.error(response.status_code, raw, response.headers)
        if not body.get("stream"):
            out = adapter.chat_response(await response.aread(), target, "req1")
            usage = out["usage"]
            details = usage["prompt_tokens_details"]["cached_tokens"]
            return Outcome(
                [out], Usage(usage["prompt_tokens"], usage["completion_tokens"], details)
            )
        translator = adapter.stream_translator(target, "req1", body["model"])
        parser, chunks = SseParser(), []
        async for piece in response.aiter_raw():
            for event in parser.feed(piece):
                chunks.extend(translator.feed(event))
        chunks.extend(translator.finish())
        assert translator.usage is not None
        return Outcome(chunks, translator.usage)
    finally:
        await response.aclose()


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}}}}]  # fmt: skip
CASES = [
    ("anthropic", "claude-sonnet-4-5-20250929", ANTHROPIC_KEY),
    ("gemini", "gemini-2.5-flash", GEMINI_KEY),
]


@pytest.mark.parametrize(("provider", "model", "key"), CASES)
@pytest.mark.parametrize("tools", [False, True])
async def test_streamed_and_plain_calls_agree(
    serve: Serve, provider: str, model: str, key: str, tools: bool
) -> None:
    fake = FakeProvider()
    base = await serve(fake.app())
    target = ProviderTarget(base, model, key)
    body: dict[str, Any] = {
        "model": "alias",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Capital of France? Weather there?"}],
    }  # fmt: skip
    if tools:
        body["tools"] = TOOLS
    async with httpx.AsyncClient(timeout=10) as client:
        plain = await call(client, provider, target, body)
        streamed = await call(client, provider, target, {**body, "stream": True})
    completion = ChatCompletion.model_validate(plain.chunks[0])
    chunks = [ChatCompletionChunk.model_validate(c) for c in streamed.chunks]
    message = completion.choices[0].message
    if tools:
        assert message.tool_calls and completion.choices[0].finish_reason == "tool_calls"
        deltas = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
        arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
        assert message.tool_calls[0].type == "function"
        assert json.loads(arguments) == json.loads(message.tool_calls[0].function.arguments)
    else:
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == message.content == "Paris is the capital of France."
    assert plain.usage == streamed.usage and plain.usage.prompt_tokens > 0
    price = resolve_price(provider, model)
    assert cost_micro_usd(plain.usage, price) == cost_micro_usd(streamed.usage, price) > 0
    assert fake.received[0].get("stream") in (None, False)


@pytest.mark.parametrize(
    ("provider", "model", "key", "kind", "retry_after"),
    [
        ("anthropic", "claude-sonnet-4-5", "wrong-key", UpstreamFailed, None),
        ("anthropic", "claude-busy", ANTHROPIC_KEY, ServiceUnavailable, "1"),
        ("anthropic", "claude-limited", ANTHROPIC_KEY, RateLimited, "7"),
        ("gemini", "gemini-2.5-flash", "wrong-key", UpstreamFailed, None),
        ("gemini", "gemini-limited", GEMINI_KEY, RateLimited, "37"),
    ],
)
async def test_failures_over_http_are_mapped(
    serve: Serve,
    provider: str,
    model: str,
    key: str,
    kind: type[AistraleError],
    retry_after: str | None,
) -> None:
    base = await serve(FakeProvider().app())
    body = {"model": "alias", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(timeout=10) as client:
        with pytest.raises(kind) as info:
            await call(client, provider, ProviderTarget(base, model, key), body)
    assert info.value.headers.get("Retry-After") == retry_after
    assert "wrong-key" not in info.value.message
