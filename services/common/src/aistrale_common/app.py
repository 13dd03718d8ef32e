"""The skeleton every service app shares: middleware, error handler, ops routes, tracing,
and the typed per-service state (service_state.py) its lifespan opens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from aistrale_common.docs import serve_docs_locally
from aistrale_common.errors import install_error_handlers
from aistrale_common.health import ops_router
from aistrale_common.heap import freeze_startup_heap
from aistrale_common.logging import configure_logging
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.middleware import ObservabilityMiddleware
from aistrale_common.sentry import init_sentry
from aistrale_common.service_state import Runtime, S, app_runtime
from aistrale_common.settings import ServiceSettings
from aistrale_common.shutdown import Drain
from aistrale_common.tracing import open_tracer

# Opens what the service needs and yields its state; closes it all on the way out.
OpenState = Callable[[FastAPI], AbstractAsyncContextManager[S]]


def build_app(
    service: str,
    settings: ServiceSettings,
    metrics: ServiceMetrics,
    open_state: OpenState[S],
    *,
    validation_status: int = 400,
    title: str | None = None,
    description: str = "",
    docs_prefix: str = "",
    app_class: type[FastAPI] = FastAPI,
    span_exporter: SpanExporter | None = None,
) -> FastAPI:
    """`span_exporter`: spans go there instead of OTLP (tests)."""
    configure_logging(settings.log_level, settings.log_json)
    init_sentry(service, settings.sentry_dsn, settings.environment)
    tracing = open_tracer(service, settings.otlp_endpoint, span_exporter)
    tracer = tracing[0] if tracing else None
    runtime: Runtime[S] = Runtime(service, settings, metrics, tracer)
    runtime.tracer_provider = tracing[1] if tracing else None  # tests flush it

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with open_state(app) as state:
                freeze_startup_heap()
                runtime.current = state
                try:
                    yield
                finally:
                    runtime.current = None
        finally:
            if tracing is not None:
                tracing[1].shutdown()

    # Docs live under the service's public prefix so one host can serve every service.
    app = app_class(
        title=title or f"AISTRALE {service}",
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=f"{docs_prefix}/docs",
        redoc_url=None,
        openapi_url=f"{docs_prefix}/openapi.json",
        # Ours: ObservabilityMiddleware traces every request once; FastAPI's own hook would
        # add a second span and look up the global OTel providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    serve_docs_locally(app)  # no CDN: the docs work offline
    app.state.runtime = runtime  # the one entry; read it through app_runtime / app_state
    install_error_handlers(app, validation_status=validation_status)
    app.include_router(ops_router(service, metrics, runtime.checks))
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, tracer=tracer)
    return app


def app_drain(app: FastAPI) -> Drain:
    """The `Drain` `build_app` gave the app: its server begins it on SIGTERM."""
    return app_runtime(app).drain
