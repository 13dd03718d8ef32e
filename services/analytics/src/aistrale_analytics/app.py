"""`create_app(settings)`: the analytics service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from aistrale_analytics.authz import control
from aistrale_analytics.authz.decisions import DecisionCache, UserOrgAuthorizer
from aistrale_analytics.exports.api import router as exports_router
from aistrale_analytics.exports.repository import ExportRepository
from aistrale_analytics.exports.service import ExportService
from aistrale_analytics.exports.storage import open_object_store
from aistrale_analytics.exports.worker import ExportWorker
from aistrale_analytics.ingest.consumer import ConsumerConfig, UsageConsumer
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.reconcile.counters import RedisSpendCounters
from aistrale_analytics.reconcile.service import ReconcileLoop, ReconcileMetrics, Reconciler
from aistrale_analytics.request_log.api import router as request_log_router
from aistrale_analytics.request_log.consumer import BodyConsumer, body_subscription
from aistrale_analytics.request_log.purge import BodyPurge
from aistrale_analytics.request_log.service import RequestLogService
from aistrale_analytics.settings import SERVICE, Settings
from aistrale_analytics.state import AnalyticsState
from aistrale_analytics.usage.api import router as usage_router
from aistrale_analytics.usage.service import UsageService
from aistrale_common.app import build_app
from aistrale_common.auth.sessions import Revocations
from aistrale_common.events import EventBus
from aistrale_common.internal_client import internal_client
from aistrale_common.kv import KeyValue, open_kv
from aistrale_common.kv.redis import connect_redis
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import CoreResources, open_core
from aistrale_common.service_state import app_runtime
from aistrale_common.sessions import SessionManager, SessionStore
from aistrale_common.sessions.store import open_session_store

log = get_logger(__name__)


def consumer_config(settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        exchange=settings.usage_exchange,
        queue=settings.queue_name(),
        prefetch=settings.usage_prefetch,
        max_deliveries=settings.usage_max_deliveries,
        batch_size=settings.usage_batch_size,
        lag_interval_s=settings.usage_lag_interval_s,
        linger_s=settings.usage_linger_s,
    )


def _exports(settings: Settings, core: CoreResources) -> tuple[ExportService, ExportWorker]:
    repository = ExportRepository(core.db)
    service = ExportService(
        repository,
        open_object_store(settings),
        settings.exports_url_ttl_s,
        settings.exports_max_rows,
    )
    return service, ExportWorker(repository, service)


async def _start_reconciliation(
    stack: AsyncExitStack, settings: Settings, core: CoreResources, metrics: ServiceMetrics
) -> None:
    assert settings.redis_url is not None
    redis = connect_redis(settings.redis_url)
    stack.push_async_callback(redis.aclose)
    reconcile_metrics = ReconcileMetrics(metrics)
    reconciler = Reconciler(
        core.db, RedisSpendCounters(redis), settings.redis_prefix, reconcile_metrics
    )
    loop = ReconcileLoop(reconciler, reconcile_metrics, settings.reconcile_interval_s)
    await loop.start()
    stack.push_async_callback(loop.stop)


async def _start_request_log(
    stack: AsyncExitStack, settings: Settings, core: CoreResources, metrics: ServiceMetrics
) -> RequestLogService:
    keyring = settings.bodies_keyring()
    service = RequestLogService(core.db, keyring)
    if keyring is None:
        log.error("request_bodies_not_consumed", reason="AISTRALE_CREDENTIALS_KEK is not set")
    elif settings.consume_bodies:
        subscription = body_subscription(settings.usage_exchange, settings.bodies_queue_name())
        consumer = BodyConsumer(core.bus, service, metrics, subscription)
        await consumer.start()
        stack.push_async_callback(consumer.stop)
    rotating = keyring is not None and settings.credentials_kek_previous is not None
    purge = BodyPurge(service, settings.body_purge_interval_s, rotating=rotating)
    await purge.start()
    stack.push_async_callback(purge.stop)
    return service


async def _start_authorization(
    stack: AsyncExitStack,
    settings: Settings,
    core: CoreResources,
    kv: KeyValue | None,
    transport: httpx.AsyncBaseTransport | None,
) -> tuple[Revocations, UserOrgAuthorizer]:
    if kv is None:
        kv = open_kv(settings.redis_url, settings.redis_prefix)
        stack.push_async_callback(kv.close)
    client = internal_client(
        settings.user_org_url, transport=transport, timeout=settings.authz_timeout_s
    )
    stack.push_async_callback(client.aclose)
    cache = DecisionCache(settings.authz_cache_ttl_s)
    authorizer = UserOrgAuthorizer(client, settings.secret("service_token"), cache)
    consumer = await control.listen(core.bus, settings.control_exchange, cache)
    stack.push_async_callback(consumer.stop)
    return Revocations(kv), authorizer


def create_app(
    settings: Settings | None = None,
    *,
    bus: EventBus | None = None,
    sessions: SessionStore | None = None,
    kv: KeyValue | None = None,
    userorg_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`kv` and `userorg_transport`: in one process (`make run`), the security store shared
    with user-org and user-org's app itself; otherwise Redis (or a store of this process's
    own) and user-org over HTTP. `sessions`: user-org's console session store (shared in
    `make run`; Redis otherwise)."""
    settings = settings or Settings()
    metrics = ServiceMetrics(SERVICE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AnalyticsState]:
        async with AsyncExitStack() as stack:
            opened = await stack.enter_async_context(
                open_core(settings.database_url_or_embedded(), settings.amqp_url, bus)
            )
            revocations, authorizer = await _start_authorization(
                stack, settings, opened, kv, userorg_transport
            )
            if settings.consume_usage:
                consumer = UsageConsumer(
                    opened.bus,
                    UsageStore(opened.db),
                    metrics,
                    consumer_config(settings),
                    tracer=app_runtime(app).tracer,
                )
                await consumer.start()
                stack.push_async_callback(consumer.stop)
            store = sessions or open_session_store(settings.redis_url, settings.redis_prefix)
            if sessions is None:
                stack.push_async_callback(store.aclose)
            exports, worker = _exports(settings, opened)
            await worker.start()
            stack.push_async_callback(worker.stop)
            if settings.reconcile_enabled and settings.redis_url:
                await _start_reconciliation(stack, settings, opened, metrics)
            request_log = await _start_request_log(stack, settings, opened, metrics)
            yield AnalyticsState(
                settings,
                opened,
                UsageService(opened.db),
                exports,
                worker,
                revocations=revocations,
                authorizer=authorizer,
                sessions=SessionManager(store),
                request_log=request_log,
            )

    app = build_app(
        SERVICE,
        settings,
        metrics,
        lifespan,
        docs_prefix="/analytics/v1",
        validation_status=400,
        description="Usage analytics",
    )
    app.include_router(usage_router)
    app.include_router(exports_router)
    app.include_router(request_log_router)
    return app
