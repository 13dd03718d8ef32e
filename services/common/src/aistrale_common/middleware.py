"""One pure-ASGI middleware for request ids, logs context, metrics and spans.

Pure ASGI rather than BaseHTTPMiddleware: it adds no task or body copy on the hot path
and streams pass through untouched.
"""

from __future__ import annotations

import os
import time

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aistrale_common.events.schemas import TEXT_LIMITS
from aistrale_common.logging import REQUEST_ID
from aistrale_common.metrics import Children, ServiceMetrics
from aistrale_common.tracing import TRACEPARENT, extract

REQUEST_ID_HEADER = b"x-request-id"
TRACEPARENT_HEADER = TRACEPARENT.encode()
MAX_REQUEST_ID = TEXT_LIMITS["request_id"]  # it is the usage event's request_id


def _incoming_request_id(scope: Scope) -> str:
    """The client's id when it is printable ASCII of at most MAX_REQUEST_ID characters (it
    goes into logs, headers and usage events as it is); else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and 0 < len(value) <= MAX_REQUEST_ID:
            given = str(value.decode("latin-1"))
            if given.isascii() and given.isprintable():
                return given
    return os.urandom(16).hex()  # uuid4's randomness, without building a UUID object


def _incoming_trace(scope: Scope) -> Context | None:
    for name, value in scope.get("headers", ()):
        if name == TRACEPARENT_HEADER:
            return extract({TRACEPARENT: value})
    return None


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, tracer: Tracer | None = None):
        self.app = app
        self.metrics = metrics
        self.tracer = tracer
        self._requests = Children(metrics.http_requests)
        self._seconds = Children(metrics.http_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        raw_id = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER, raw_id))
                message["headers"] = headers
            await send(message)

        start = time.perf_counter()
        token = REQUEST_ID.set(request_id)
        try:
            await self._call_traced(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            self._record(scope, status, time.perf_counter() - start)

    async def _call_traced(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.tracer is None:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        parent = _incoming_trace(scope)
        # Named by method only until the route is known: a raw path is unbounded.
        with self.tracer.start_as_current_span(
            method, context=parent, kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", scope.get("path", ""))
            span.set_attribute("http.request_id", scope["state"]["request_id"])
            status = 500

            async def send_traced(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_traced)
            finally:
                route = route_template(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method: str = scope.get("method", "GET")
        if route == "unmatched":  # its method is whatever the client sent: no child kept
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_seconds.labels(method, route).observe(seconds)
            return
        self._requests(method, route, str(status)).inc()
        self._seconds(method, route).observe(seconds)
