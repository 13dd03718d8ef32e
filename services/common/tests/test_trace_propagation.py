"""W3C trace context: into a server span from the request's headers, out of the current span
into headers, and through a packed usage batch (first event's as parent, others as links)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from aistrale_common.events.port import Message, OutgoingMessage
from aistrale_common.events.usage_batch import (
    BATCH_HEADER,
    MAX_TRACE_LINKS,
    TRACE_LINKS_HEADER,
    pack,
    trace_links,
)
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.middleware import ObservabilityMiddleware
from aistrale_common.tracing import TRACEPARENT, current_traceparent, extract, inject, links

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _tracer() -> tuple[InMemorySpanExporter, TracerProvider]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider


async def test_a_server_span_continues_the_callers_trace() -> None:
    exporter, provider = _tracer()
    inner = FastAPI()
    seen: list[str | None] = []

    @inner.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        seen.append(current_traceparent())
        return {"id": thing_id}

    app = ObservabilityMiddleware(inner, ServiceMetrics("t"), provider.get_tracer("t"))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/things/1", headers={TRACEPARENT: PARENT})
        unrelated = await client.get("/things/2")
    assert answer.status_code == unrelated.status_code == 200
    first, second = exporter.get_finished_spans()
    assert first.kind == SpanKind.SERVER and first.name == "GET /things/{thing_id}"
    assert first.context is not None and first.parent is not None
    assert f"{first.context.trace_id:032x}" == PARENT.split("-")[1]
    assert f"{first.parent.span_id:016x}" == PARENT.split("-")[2]
    assert dict(first.attributes or {})["http.response.status_code"] == 200
    assert second.parent is None  # no header: a trace of its own
    # Inside the request, the current context is the server span's: what goes out next.
    assert seen[0] is not None and seen[0].split("-")[1] == PARENT.split("-")[1]
    assert seen[0].split("-")[2] == f"{first.context.span_id:016x}"


def test_inject_only_inside_a_span() -> None:
    _, provider = _tracer()
    headers: dict[str, str] = {}
    inject(headers)
    assert headers == {}
    with provider.get_tracer("t").start_as_current_span("s") as span:
        inject(headers)
    context = span.get_span_context()
    assert headers[TRACEPARENT].startswith(traceparent_of(context.trace_id, context.span_id))
    assert extract({TRACEPARENT: "garbage"}) is None and extract({}) is None
    assert extract({TRACEPARENT: PARENT.encode()}) is not None


def traceparent_of(trace_id: int, span_id: int) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-"  # then the flags: sampled (and random)


def _event(org: str, traceparent: str | None) -> OutgoingMessage:
    headers = {TRACEPARENT: traceparent} if traceparent else {}
    return OutgoingMessage(f"usage.v1.{org}", b"{}", "id", headers)


def test_a_batch_carries_its_events_traces() -> None:
    ids = [f"00-{i:032x}-{i:016x}-01" for i in range(1, MAX_TRACE_LINKS + 5)]
    lone = _event("b", ids[0])
    batch = [_event("a", t) for t in ids] + [_event("a", None), lone]
    packed_a, packed_b = pack(batch)
    assert packed_b is lone  # one event: as it was, header and all
    assert packed_a.headers[BATCH_HEADER] == len(ids) + 1
    assert packed_a.headers[TRACEPARENT] == ids[0]
    received = Message("usage", packed_a.routing_key, packed_a.body, None, packed_a.headers)
    linked = trace_links(received)
    assert linked == ids[1 : MAX_TRACE_LINKS + 1]  # bounded
    assert len(links(linked)) == MAX_TRACE_LINKS
    assert TRACE_LINKS_HEADER not in pack([_event("c", ids[0]), _event("c", ids[0])])[0].headers
