"""`/health` (process alive), `/ready` (dependencies answer), `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response

from aistrale_common.metrics import ServiceMetrics

Check = Callable[[], Awaitable[object]]
READY_TIMEOUT_S = 2.0


class Degraded(str):
    """A check may return this: the dependency is down but a declared fallback serves (a
    fail-open policy). /ready stays 200 and shows `degraded: <reason>`; dependency_up is 0."""


async def run_checks(
    checks: Mapping[str, Check], metrics: ServiceMetrics | None = None
) -> tuple[bool, dict[str, str]]:
    async def one(name: str, check: Check) -> tuple[str, str]:
        try:
            result = await asyncio.wait_for(check(), READY_TIMEOUT_S)
            if isinstance(result, Degraded):
                return name, f"degraded: {result}"[:300]
            return name, "ok"
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            return name, f"error: {type(exc).__name__}: {exc}"[:300]

    results = dict(await asyncio.gather(*(one(n, c) for n, c in checks.items())))
    if metrics is not None:
        for name, result in results.items():
            metrics.dependency_up.labels(name).set(1 if result == "ok" else 0)
    ready = all(r == "ok" or r.startswith("degraded: ") for r in results.values())
    return ready, results


def ops_router(
    service: str, metrics: ServiceMetrics, checks: Callable[[], Mapping[str, Check]]
) -> APIRouter:
    """`checks` is called per request so the lifespan can fill it in after startup."""
    router = APIRouter(include_in_schema=False)

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        ok, results = await run_checks(checks(), metrics)
        body = {"status": "ready" if ok else "not_ready", "service": service, "checks": results}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router
