"""The /v1 routes served before FastAPI sees the request (measured:
docs/decisions/router-hot-path-routes.md).

`GatewayApp.__call__` looks the (method, path) up in a dict; a hit goes through the shared
`ObservabilityMiddleware` (request ids, logs context, metrics, spans: unchanged) straight to
the endpoint, skipping FastAPI's own telemetry hook, Starlette's error and exception
middleware and its route scan. Everything else takes the normal FastAPI path. Errors are
rendered here exactly as the app's handlers render them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI
from opentelemetry.trace import Tracer
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aistrale_common.errors import AistraleError, PayloadTooLarge, error_body, error_response
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.middleware import ObservabilityMiddleware
from aistrale_common.service_state import app_runtime

log = get_logger(__name__)

# What an endpoint gets: the scope, the whole body, `receive` and `send`; it answers itself.
Handler = Callable[[Scope, bytes, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    name: str
    handler: Handler
    # The body of an error the front door answers itself (a body too large) in the
    # endpoint's protocol; None: OpenAI's shape.
    render_error: Callable[[AistraleError], bytes] | None = None


JSON = "application/json"
INTERNAL = error_body("Internal server error", "server_error", "internal_error", None)


class FrontDoor:
    def __init__(
        self,
        endpoints: list[Endpoint],
        metrics: ServiceMetrics,
        max_body_bytes: int,
        tracer: Tracer | None,
        *,
        refused: Callable[[str, int, float], None] | None = None,
    ) -> None:
        """`refused(endpoint name, status, seconds)`: told of each request the front door
        refuses itself, before its handler runs (a body too large)."""
        # Also listed in the app's routes (docs, 405 for other methods); a request reaching
        # one of them through Starlette is served here all the same.
        self.routes = [Route(e.path, self, methods=[e.method], name=e.name) for e in endpoints]
        self._handlers = {
            (e.method, e.path): (route, e.handler, e.render_error)
            for e, route in zip(endpoints, self.routes, strict=True)
        }
        self._max_body = max_body_bytes
        self._refused = refused
        self._app: ASGIApp = ObservabilityMiddleware(self._serve, metrics, tracer)

    def match(self, scope: Scope) -> bool:
        return (scope.get("method"), scope.get("path")) in self._handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "state" in scope and "request_id" in scope["state"]:
            await self._serve(scope, receive, send)  # already observed on the FastAPI path
            return
        await self._app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        route, handler, render = self._handlers[(scope["method"], scope["path"])]
        scope["route"] = route  # the metrics label: the route template
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            body = await self._body(route.name, receive)
            await handler(scope, body, receive, tracked)
        except AistraleError as exc:
            log.log(exc.log_level, "request_error", code=exc.instance_code, status=exc.status)
            if started:
                raise
            if render is None:
                await error_response(exc)(scope, receive, send)
            else:
                await Response(render(exc), exc.status, exc.headers, JSON)(scope, receive, send)
        except Exception as exc:
            log.exception("unhandled_error", error_type=type(exc).__name__)
            if started:
                raise
            await JSONResponse(INTERNAL, status_code=500)(scope, receive, send)

    async def _body(self, name: str, receive: Receive) -> bytes:
        arrived = time.perf_counter()
        try:
            return await self._read_body(receive)
        except AistraleError as exc:
            if self._refused is not None:
                self._refused(name, exc.status, time.perf_counter() - arrived)
            raise

    async def _read_body(self, receive: Receive) -> bytes:
        message = await receive()
        body: bytes = message.get("body", b"")
        if not message.get("more_body"):
            return body if len(body) <= self._max_body else _too_large(self._max_body)
        parts = [body]
        size = len(body)
        while message.get("more_body"):
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                _too_large(self._max_body)
            parts.append(chunk)
        return b"".join(parts)


def _too_large(limit: int) -> bytes:
    raise PayloadTooLarge(f"Request body larger than {limit} bytes.")


def app_tracer(app: FastAPI) -> Tracer | None:
    return app_runtime(app).tracer


class GatewayApp(FastAPI):
    """FastAPI with the front door in front of its own `__call__`."""

    front: FrontDoor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.front
        if front is not None and scope["type"] == "http" and front.match(scope):
            await front(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
