"""`create_app(settings)`: the api-router service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aistrale_common.app import build_app
from aistrale_common.events import EventBus
from aistrale_common.health import Check
from aistrale_common.limits import LimiterStore, open_limiter_store
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import NOT_STARTED, CoreResources, open_core
from aistrale_router.settings import SERVICE, Settings


def create_app(settings: Settings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = ServiceMetrics(SERVICE)
    core: CoreResources | None = None
    limiter: LimiterStore | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal core, limiter
        async with open_core(settings.database_url_or_embedded(), settings.amqp_url, bus) as opened:
            limiter = app.state.limiter = open_limiter_store(
                settings.redis_url, settings.redis_prefix
            )
            core = app.state.core = opened
            try:
                yield
            finally:
                core = None
                await limiter.close()

    def checks() -> Mapping[str, Check]:
        if core is None or limiter is None:
            return NOT_STARTED
        return {**core.checks(), "limits": limiter.ping}

    return build_app(
        SERVICE,
        settings,
        metrics,
        lifespan,
        checks,
        docs_prefix="/v1",
        validation_status=400,
        description="OpenAI-compatible gateway",
    )
