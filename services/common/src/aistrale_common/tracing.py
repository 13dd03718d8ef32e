"""OpenTelemetry tracing, on only when an OTLP endpoint is configured, and the W3C trace
context that follows a request across services (docs/observability.md "Traces").

Each service has its own TracerProvider (never the global one: `make run` holds three
services in one process, each with its own `service.name`). Context goes out in the
`traceparent` header: on HTTP calls (router to user-org) and on AMQP messages (usage events
to analytics); `extract` reads it back on the other side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()


def open_tracer(
    service: str, otlp_endpoint: str | None, exporter: SpanExporter | None = None
) -> tuple[Tracer, TracerProvider] | None:
    """`exporter` replaces OTLP (tests: an in-memory exporter)."""
    if not otlp_endpoint and exporter is None:
        return None
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert otlp_endpoint is not None
        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
    attributes = {"service.name": service, "service.namespace": "aistrale"}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider.get_tracer(service), provider


def current_traceparent() -> str | None:
    """The current span's context as a `traceparent` value; None outside a recorded span
    (tracing off costs one context lookup)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def inject(headers: MutableMapping[str, str]) -> None:
    """Adds the current trace context (if any) to outgoing headers."""
    traceparent = current_traceparent()
    if traceparent is not None:
        headers[TRACEPARENT] = traceparent


async def inject_httpx(request: httpx.Request) -> None:
    """An httpx request hook: the call joins the caller's trace."""
    inject(request.headers)


def extract(headers: Mapping[str, Any]) -> Context | None:
    """The remote parent a `traceparent` header names, or None."""
    value = headers.get(TRACEPARENT)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    context = _PROPAGATOR.extract({TRACEPARENT: value})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def links(traceparents: Iterable[str]) -> list[Link]:
    """Span links to each valid `traceparent` (a batch's other events)."""
    found = []
    for value in traceparents:
        context = _PROPAGATOR.extract({TRACEPARENT: value})
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            found.append(Link(span_context))
    return found
