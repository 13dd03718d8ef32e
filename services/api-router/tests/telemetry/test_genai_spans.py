"""GenAI client spans per upstream attempt (OpenTelemetry semantic conventions), children of
the request's server span, with the trace context sent to user-org and to the upstream.
The router runs in process with an in-memory span exporter; user-org and vLLM are fakes
speaking their real wire formats over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Receive, Scope, Send

from aistrale_common.events import MemoryEventBus
from aistrale_common.service_state import app_runtime
from aistrale_router.app import create_app
from aistrale_router.keys.record import KeyRecord
from aistrale_router.migrate import migrate_async
from aistrale_router.settings import Settings
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import catalog_for

KEY = "sk-traced"
AUTH = {"authorization": f"Bearer {KEY}"}
MESSAGES = [{"role": "user", "content": "trace me"}]


class HeaderLog:
    """ASGI middleware that keeps each request's headers (what user-org was sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@dataclass
class Traced:
    client: httpx.AsyncClient
    app: FastAPI
    exporter: InMemorySpanExporter
    userorg: HeaderLog
    vllm: FakeVllm
    _seen: int = field(default=0)

    def spans(self) -> list[ReadableSpan]:
        provider = app_runtime(self.app).tracer_provider
        assert provider is not None
        provider.force_flush()
        return list(self.exporter.get_finished_spans())


@asynccontextmanager
async def traced_router(tmp_path: Path) -> AsyncIterator[Traced]:
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump(catalog_for("http://vllm.test:8000")))
    settings = Settings(data_dir=tmp_path, models_file=models, service_token="t" * 20)
    await migrate_async(settings)
    fake_userorg = FakeUserOrg(service_token="t" * 20)
    fake_userorg.add_key(KEY, KeyRecord(key_id="k", org_id="o", status="active"))
    userorg = HeaderLog(fake_userorg.app)
    vllm = FakeVllm()
    exporter = InMemorySpanExporter()
    bus = MemoryEventBus()
    app = create_app(
        settings,
        bus=bus,
        userorg_transport=httpx.ASGITransport(userorg),
        upstream_transport=httpx.ASGITransport(vllm.app),
        span_exporter=exporter,
    )
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
                yield Traced(client, app, exporter, userorg, vllm)
    finally:
        await bus.close()


def _one(spans: list[ReadableSpan], kind: SpanKind, name: str) -> ReadableSpan:
    found = [s for s in spans if s.kind == kind and s.name == name]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def _traceparent_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


async def test_a_completion_is_a_client_span_under_the_server_span(tmp_path: Path) -> None:
    async with traced_router(tmp_path) as traced:
        body = {"model": "chat-model", "messages": MESSAGES}
        answer = await traced.client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
        usage = answer.json()["usage"]
        spans = traced.spans()

    server = _one(spans, SpanKind.SERVER, "POST /v1/chat/completions")
    client = _one(spans, SpanKind.CLIENT, "chat fake-chat")
    assert client.parent is not None and client.parent.span_id == server.context.span_id
    assert client.context.trace_id == server.context.trace_id
    attributes = dict(client.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == attributes["gen_ai.provider.name"] == "vllm"
    assert attributes["gen_ai.request.model"] == "fake-chat"
    assert attributes["gen_ai.response.model"] == "fake-chat"
    assert attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.response.id"] == answer.json()["id"]
    assert (attributes["server.address"], attributes["server.port"]) == ("vllm.test", 8000)
    assert attributes["aistrale.model"] == "chat-model"
    assert client.status.status_code != StatusCode.ERROR
    assert dict(server.attributes or {})["http.response.status_code"] == 200
    # The upstream got the attempt's context, user-org the request's.
    assert traced.vllm.log.headers[-1]["traceparent"] == _traceparent_of(client)
    lookups = [h for h in traced.userorg.seen if "traceparent" in h]
    assert lookups and lookups[0]["traceparent"].split("-")[1] == f"{server.context.trace_id:032x}"


async def test_a_stream_span_ends_with_the_stream_and_has_its_usage(tmp_path: Path) -> None:
    async with traced_router(tmp_path) as traced:
        body = {"model": "chat-model", "messages": MESSAGES, "stream": True}
        answer = await traced.client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert answer.status_code == 200 and answer.text.endswith("data: [DONE]\n\n")
        spans = traced.spans()

    client = _one(spans, SpanKind.CLIENT, "chat fake-chat")
    attributes: dict[str, Any] = dict(client.attributes or {})
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["gen_ai.response.model"] == "fake-chat"


async def test_each_attempt_is_a_span_and_a_failed_one_says_why(tmp_path: Path) -> None:
    async with traced_router(tmp_path) as traced:
        body = {"model": "flaky-model", "messages": MESSAGES}  # fails, then its fallback
        answer = await traced.client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
        spans = traced.spans()

    server = _one(spans, SpanKind.SERVER, "POST /v1/chat/completions")
    attempts = [s for s in spans if s.kind == SpanKind.CLIENT]
    failed = [s for s in attempts if s.name == "chat fake-500"]
    served = _one(spans, SpanKind.CLIENT, "chat fake-chat")
    assert failed and all(s.status.status_code == StatusCode.ERROR for s in failed)
    assert {dict(s.attributes or {})["error.type"] for s in failed} == {"500"}
    assert dict(served.attributes or {})["aistrale.fallback_from"] == "flaky-model"
    assert all(
        s.parent is not None and s.parent.span_id == server.context.span_id for s in attempts
    )


async def test_no_exporter_no_spans_and_no_wrapping(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump(catalog_for("http://vllm.test")))
    settings = Settings(data_dir=tmp_path, models_file=models, service_token="t" * 20)
    app = create_app(settings, bus=MemoryEventBus())
    runtime = app_runtime(app)
    assert runtime.tracer is None and runtime.tracer_provider is None


def test_response_facts_read_anthropic_and_gemini() -> None:
    from aistrale_router.observability.genai import ResponseFacts

    anthropic = ResponseFacts()
    for event in (
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "claude-x",
                "usage": {"input_tokens": 12, "output_tokens": 1},
            },
        },
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 9},
        },
    ):
        anthropic.absorb(event)
    assert anthropic.attributes() == {
        "gen_ai.response.model": "claude-x",
        "gen_ai.response.id": "msg_1",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 9,
        "gen_ai.response.finish_reasons": ["end_turn"],
    }
    gemini = ResponseFacts()
    gemini.absorb(
        {
            "candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2},
            "modelVersion": "gemini-2.0-flash",
            "responseId": "r-1",
        }
    )
    assert gemini.attributes() == {
        "gen_ai.response.model": "gemini-2.0-flash",
        "gen_ai.response.id": "r-1",
        "gen_ai.usage.input_tokens": 4,
        "gen_ai.usage.output_tokens": 2,
        "gen_ai.response.finish_reasons": ["STOP"],
    }
