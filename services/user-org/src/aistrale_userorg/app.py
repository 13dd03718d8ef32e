"""`create_app(settings)`: the user-org service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aistrale_common.app import build_app
from aistrale_common.events import EventBus
from aistrale_common.health import Check
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import NOT_STARTED, CoreResources, open_core
from aistrale_userorg.settings import SERVICE, Settings


def create_app(settings: Settings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = ServiceMetrics(SERVICE)
    core: CoreResources | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal core
        async with open_core(settings.database_url_or_embedded(), settings.amqp_url, bus) as opened:
            core = app.state.core = opened
            yield
            core = None

    def checks() -> Mapping[str, Check]:
        return core.checks() if core is not None else NOT_STARTED

    return build_app(
        SERVICE,
        settings,
        metrics,
        lifespan,
        checks,
        docs_prefix="/admin/v1",
        validation_status=422,
        description="Admin API: orgs, users, keys, budgets, audit",
    )
