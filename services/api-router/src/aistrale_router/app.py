"""`create_app(settings)`: the api-router service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from aistrale_common.app import app_drain, build_app
from aistrale_common.events import EventBus
from aistrale_common.health import Check
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import NOT_STARTED, CoreResources, open_core
from aistrale_router.admission import build_gatekeeper
from aistrale_router.gateway.api import endpoints
from aistrale_router.gateway.front_door import FrontDoor, GatewayApp, app_tracer
from aistrale_router.gateway.metrics import GatewayMetrics
from aistrale_router.gateway.wiring import GatewayRef, open_gateway
from aistrale_router.observability.deployment_metrics import DeploymentCollector
from aistrale_router.observability.usage_metrics import OrgLabel
from aistrale_router.openapi import document_routes
from aistrale_router.settings import SERVICE, Settings


def create_app(
    settings: Settings | None = None,
    *,
    bus: EventBus | None = None,
    userorg_transport: httpx.AsyncBaseTransport | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    span_exporter: SpanExporter | None = None,
) -> FastAPI:
    settings = settings or Settings()
    metrics = ServiceMetrics(SERVICE)
    core: CoreResources | None = None
    gateway = GatewayRef()
    orgs = OrgLabel(settings.metrics_org_label_max) if settings.metrics_org_label else None
    requests = GatewayMetrics(metrics, gateway.in_catalog, orgs)
    metrics.registry.register(DeploymentCollector(metrics.prefix, gateway))
    gatekeeper = build_gatekeeper(
        settings, redis_url=settings.redis_url, prefix=settings.redis_prefix, metrics=metrics
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal core
        async with open_core(settings.database_url_or_embedded(), settings.amqp_url, bus) as opened:
            core = app.state.core = opened
            try:
                async with open_gateway(
                    settings,
                    opened,
                    gatekeeper,
                    metrics,
                    requests=requests,
                    drain=app_drain(app),
                    userorg_transport=userorg_transport,
                    upstream_transport=upstream_transport,
                    tracer=app_tracer(app),
                ) as running:
                    gateway.current = app.state.gateway = running
                    yield
            finally:
                gateway.current = None
                core = None
                await gatekeeper.close()

    def checks() -> Mapping[str, Check]:
        if core is None:
            return NOT_STARTED
        return {**core.checks(), **gatekeeper.checks()}

    app = build_app(
        SERVICE,
        settings,
        metrics,
        lifespan,
        checks,
        docs_prefix="/v1",
        validation_status=400,
        description="OpenAI-compatible gateway",
        app_class=GatewayApp,
        span_exporter=span_exporter,
    )
    assert isinstance(app, GatewayApp)
    served = endpoints(gateway, requests)
    front = FrontDoor(
        served,
        metrics,
        settings.max_request_bytes,
        app_tracer(app),
        refused=requests.refused,
    )
    app.router.routes[0:0] = front.routes
    app.front = front
    document_routes(app, [(e.method, e.path) for e in served])
    return app
