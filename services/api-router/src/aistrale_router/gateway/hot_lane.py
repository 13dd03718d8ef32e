"""The /v1 routes served straight from inside the shared middleware, skipping Starlette's
exception middleware and route scan (measured: docs/decisions/router-hot-path-routes.md).

It sits just inside `ObservabilityMiddleware`, so request ids, logs context and metrics
are unchanged; our errors are rendered here exactly as the app's handler renders them, and
anything unexpected propagates to the app's 500 handler.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from aistrale_common.errors import AistraleError, error_response
from aistrale_common.logging import get_logger

log = get_logger(__name__)


class HotLane:
    def __init__(self, app: ASGIApp, routes: list[Route]) -> None:
        self.app = app
        self._routes = {
            (method, route.path): route for route in routes for method in route.methods or ()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._routes.get((scope.get("method", ""), scope.get("path", "")))
        if route is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # the metrics label: the route template
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request)
        except AistraleError as exc:
            log.log(exc.log_level, "request_error", code=exc.instance_code, status=exc.status)
            response = error_response(exc)
        await response(scope, receive, send)
