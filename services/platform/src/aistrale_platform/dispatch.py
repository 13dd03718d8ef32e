"""One ASGI app in front of the three services: routes by path prefix, runs every lifespan.

Paths are not rewritten, so each service sees exactly what it sees behind the Kubernetes
ingress, where the same prefixes go to separate pods.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, Protocol

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aistrale_common.health import run_checks
from aistrale_common.logging import get_logger
from aistrale_common.metrics import runtime_metrics
from aistrale_common.service_state import app_runtime
from aistrale_platform.landing import landing

log = get_logger(__name__)


class Component(Protocol):
    """Something the platform runs beside the services (the local model server): started
    after them, stopped before them, described in /ready without deciding readiness."""

    name: str

    def lifespan(self) -> AbstractAsyncContextManager[None]: ...

    def describe(self) -> dict[str, Any]: ...


class PlatformApp:
    def __init__(
        self,
        services: dict[str, FastAPI],
        prefixes: Sequence[tuple[str, str]],
        default: str,
        components: Sequence[Component] = (),
        mounts: Sequence[tuple[str, ASGIApp]] = (),
    ) -> None:
        self.services = services
        self._mounts = list(mounts)  # apps that are not services (the console's files)
        self.components = list(components)
        self._prefixes = sorted(prefixes, key=lambda p: -len(p[0]))
        self._default = services[default]
        self._ops: dict[str, Callable[[], ASGIApp]] = {
            "/health": self._health,
            "/ready": self._ready,
            "/metrics": self._metrics,
            "/": lambda: landing,
        }

    def app_for(self, path: str) -> ASGIApp:
        for prefix, app in self._mounts:
            if path == prefix or path.startswith(prefix + "/"):
                return app
        for prefix, name in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return self.services[name]
        return self._default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        op = self._ops.get(scope.get("path", "")) if scope["type"] == "http" else None
        if op is not None:
            await op()(scope, receive, send)
            return
        await self.app_for(scope.get("path", ""))(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        async with AsyncExitStack() as stack:
            try:
                for app in self.services.values():
                    await stack.enter_async_context(app.router.lifespan_context(app))
                for component in self.components:
                    await stack.enter_async_context(component.lifespan())
            except Exception as exc:
                log.exception("startup_failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})

    def _health(self) -> Response:
        return JSONResponse({"status": "ok", "services": sorted(self.services)})

    async def _ready_checks(self) -> tuple[bool, dict[str, dict[str, str]]]:
        names = list(self.services)
        results = await asyncio.gather(
            *(
                run_checks(runtime.checks(), runtime.metrics)
                for runtime in (app_runtime(self.services[n]) for n in names)
            )
        )
        return all(ok for ok, _ in results), {
            n: r for n, (_, r) in zip(names, results, strict=True)
        }

    def _ready(self) -> ASGIApp:
        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            ok, checks = await self._ready_checks()
            body: dict[str, Any] = {"status": "ready" if ok else "not_ready", "services": checks}
            if self.components:
                body["components"] = {c.name: c.describe() for c in self.components}
            await JSONResponse(body, status_code=200 if ok else 503)(scope, receive, send)

        return respond

    def _metrics(self) -> Response:
        services = self.services.values()
        text = b"".join(app_runtime(app).metrics.render(runtime=False) for app in services)
        text += runtime_metrics()
        return Response(text, media_type=CONTENT_TYPE_LATEST)
