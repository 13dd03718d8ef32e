"""`create_app(settings)`: the api-router service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from aistrale_common.app import app_drain, build_app
from aistrale_common.events import EventBus
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import open_core
from aistrale_router.admission.factory import admission_metrics, open_gatekeeper
from aistrale_router.gateway.api import endpoints, retrieve_model_route
from aistrale_router.gateway.front_door import FrontDoor, GatewayApp, app_tracer
from aistrale_router.gateway.metrics import GatewayMetrics
from aistrale_router.gateway.wiring import GatewayRef, open_gateway
from aistrale_router.observability.deployment_metrics import DeploymentCollector
from aistrale_router.observability.usage_metrics import OrgLabel
from aistrale_router.openapi import document_routes
from aistrale_router.protocols.messages.routes import count_tokens_route
from aistrale_router.protocols.registry import inbound_protocols
from aistrale_router.protocols.responses.lifecycle import open_responses
from aistrale_router.protocols.responses.protocol import ResponsesProtocol
from aistrale_router.protocols.responses.routes import responses_routes
from aistrale_router.settings import SERVICE, Settings
from aistrale_router.state import RouterState


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
    gateway = GatewayRef()
    orgs = OrgLabel(settings.metrics_org_label_max) if settings.metrics_org_label else None
    requests = GatewayMetrics(metrics, gateway.in_catalog, orgs)
    metrics.registry.register(DeploymentCollector(metrics.prefix, gateway))
    admission = admission_metrics(settings, metrics)  # registered once, however many starts
    responses = ResponsesProtocol()  # its store opens with the database (lifespan)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[RouterState]:
        async with AsyncExitStack() as stack:
            # Entered first, so closed last: its final settlement replay outlives the rest.
            gatekeeper = await stack.enter_async_context(open_gatekeeper(settings, admission))
            core = await stack.enter_async_context(
                open_core(settings.database_url_or_embedded(), settings.amqp_url, bus)
            )
            await stack.enter_async_context(open_responses(responses, core.db, settings))
            stack.callback(setattr, gateway, "current", None)
            running = await stack.enter_async_context(
                open_gateway(
                    settings,
                    core,
                    gatekeeper,
                    metrics,
                    requests=requests,
                    drain=app_drain(app),
                    userorg_transport=userorg_transport,
                    upstream_transport=upstream_transport,
                    tracer=app_tracer(app),
                )
            )
            gateway.current = running
            yield RouterState(core, gatekeeper, running)

    app = build_app(
        SERVICE,
        settings,
        metrics,
        lifespan,
        docs_prefix="/v1",
        validation_status=400,
        description="OpenAI-compatible gateway",
        app_class=GatewayApp,
        span_exporter=span_exporter,
    )
    assert isinstance(app, GatewayApp)
    served = endpoints(gateway, requests, inbound_protocols(settings, responses))
    front = FrontDoor(
        served,
        metrics,
        settings.max_request_bytes,
        app_tracer(app),
        refused=requests.refused,
    )
    app.router.routes[0:0] = front.routes
    app.front = front
    retrieve_model_route(app, gateway)
    count_tokens_route(app, lambda *call: gateway.get().check_model_call(*call))
    responses_routes(app, responses, lambda auth: gateway.get().keys.authenticate(auth))
    document_routes(app, [(e.method, e.path) for e in served])
    return app
