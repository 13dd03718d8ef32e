"""A client span per upstream attempt, with the OpenTelemetry GenAI semantic conventions.

`TracedUpstream` wraps the upstream client: each `post` the forwarder makes for a
deployment (one attempt) is a `chat <model>` (or `embeddings <model>`, `text_completion
<model>`) CLIENT span, child of the request's server span, and its `traceparent` goes to the
upstream (vLLM, a provider). The span ends when the response is closed, after the body or
the whole stream went through, so it carries what the answer said: response model and id,
token usage and finish reasons, read from the provider's own format (OpenAI, Anthropic,
Gemini). Only built when tracing is on: with it off, the upstream client is not wrapped.

The forwarder says which deployment an attempt is for through `ATTEMPT` (a context
variable, set right before its `post`), so the upstream client keeps its narrow interface.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import orjson
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from aistrale_common.tracing import inject
from aistrale_router.routing.picker import Target
from aistrale_router.sse import SseParser
from aistrale_router.upstream.client import UpstreamClient, UpstreamResponse

ATTEMPT: ContextVar[Target | None] = ContextVar("aistrale_upstream_attempt", default=None)
# gen_ai.provider.name's well-known values where ours differ; the rest are ours as they are.
PROVIDER_NAMES = {"gemini": "gcp.gemini", "openai-compatible": "openai"}


def operation(url: str) -> str:
    path = urlsplit(url).path
    if path.endswith("/embeddings") or "embedContent" in path:
        return "embeddings"
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        return "text_completion"
    return "chat"


class ResponseFacts:
    """What an answer says about itself, from any of the three wire formats, streamed or not."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.finish_reasons: list[str] = []

    def absorb(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        self.model = _text(obj.get("model")) or _text(obj.get("modelVersion")) or self.model
        self.id = _text(obj.get("id")) or _text(obj.get("responseId")) or self.id
        self._usage(
            obj.get("usage"),
            ("prompt_tokens", "input_tokens"),
            ("completion_tokens", "output_tokens"),
        )
        self._usage(obj.get("usageMetadata"), ("promptTokenCount",), ("candidatesTokenCount",))
        for choice in _dicts(obj.get("choices")) + _dicts(obj.get("candidates")):
            self._finish(choice.get("finish_reason") or choice.get("finishReason"))
        self._finish(obj.get("stop_reason"))
        delta = obj.get("delta")
        if isinstance(delta, dict):  # Anthropic's message_delta
            self._finish(delta.get("stop_reason"))
        if isinstance(obj.get("message"), dict):  # Anthropic's message_start
            self.absorb(obj["message"])

    def _usage(self, usage: Any, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> None:
        if not isinstance(usage, dict):
            return
        for name in inputs:
            if isinstance(usage.get(name), int):
                self.input_tokens = usage[name]
        for name in outputs:
            if isinstance(usage.get(name), int):
                self.output_tokens = usage[name]

    def _finish(self, reason: Any) -> None:
        if isinstance(reason, str) and reason:
            self.finish_reasons.append(reason)

    def attributes(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "gen_ai.response.model": self.model,
            "gen_ai.response.id": self.id,
            "gen_ai.usage.input_tokens": self.input_tokens,
            "gen_ai.usage.output_tokens": self.output_tokens,
        }
        if self.finish_reasons:
            found["gen_ai.response.finish_reasons"] = self.finish_reasons
        return {name: value for name, value in found.items() if value is not None}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def attempt_attributes(target: Target, url: str, op: str) -> dict[str, Any]:
    deployment = target.deployment
    provider = PROVIDER_NAMES.get(deployment.provider, deployment.provider)
    parts = urlsplit(url)
    found: dict[str, Any] = {
        "gen_ai.operation.name": op,
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,  # the name before semconv 1.37, still read by most tools
        "gen_ai.request.model": deployment.model,
        "server.address": parts.hostname or "",
        "aistrale.model": target.model.name,
        "aistrale.deployment": deployment.id,
    }
    if parts.port is not None:
        found["server.port"] = parts.port
    if target.fallback_from is not None:
        found["aistrale.fallback_from"] = target.fallback_from
    return found


class TracedResponse:
    """The upstream response, read through: the span ends at `close`."""

    def __init__(self, response: UpstreamResponse, span: Span) -> None:
        self._response = response
        self._span = span
        self._facts = ResponseFacts()
        self._parser: SseParser | None = None
        self._ended = False
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        body = await self._response.read()
        if self.status < 400:
            self._absorb(body)
        return body

    async def chunks(self) -> AsyncIterator[bytes]:
        self._parser = parser = SseParser()
        async for raw in self._response.chunks():
            for event in parser.feed(raw):
                if event.data and event.data[0] == "{":
                    self._absorb(event.data)
            yield raw

    def _absorb(self, data: bytes | str) -> None:
        with contextlib.suppress(orjson.JSONDecodeError):
            self._facts.absorb(orjson.loads(data))

    async def close(self) -> None:
        try:
            await self._response.close()
        finally:
            self.end()

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._span.set_attributes(self._facts.attributes())
        self._span.end()


class TracedUpstream:
    """Implements `UpstreamClient`."""

    def __init__(self, client: UpstreamClient, tracer: Tracer) -> None:
        self._client = client
        self._tracer = tracer

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> UpstreamResponse:
        target = ATTEMPT.get()
        if target is None:  # not a forwarded attempt: context only
            inject(headers)
            return await self._client.post(url, headers, body)
        op = operation(url)
        span = self._tracer.start_span(
            f"{op} {target.deployment.model}",
            kind=SpanKind.CLIENT,
            attributes=attempt_attributes(target, url, op),
        )
        with trace.use_span(span, end_on_exit=False):
            inject(headers)
        try:
            response = await self._client.post(url, headers, body)
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR))
            span.end()
            raise
        span.set_attribute("http.response.status_code", response.status)
        if response.status >= 400:
            span.set_attribute("error.type", str(response.status))
            span.set_status(Status(StatusCode.ERROR))
        return TracedResponse(response, span)

    async def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        return await self._client.get(url, headers, timeout_s)

    async def close(self) -> None:
        await self._client.close()


def traced(client: UpstreamClient, tracer: Tracer | None) -> UpstreamClient:
    return client if tracer is None else TracedUpstream(client, tracer)
