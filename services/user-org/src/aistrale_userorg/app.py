"""`create_app(settings)`: the user-org service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from aistrale_common.app import build_app
from aistrale_common.auth.sessions import Revocations
from aistrale_common.events import Consumer, EventBus
from aistrale_common.kv import KeyValue, open_kv
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import open_core
from aistrale_common.sessions import SessionCookies, SessionManager, SessionStore
from aistrale_common.sessions.store import open_session_store
from aistrale_common.tasks import stop_task
from aistrale_userorg.audit.api import router as audit_router
from aistrale_userorg.auth.api import router as auth_router
from aistrale_userorg.authz.engine import Authorizer, Policy
from aistrale_userorg.budgets.api import router as budgets_router
from aistrale_userorg.console import console_router
from aistrale_userorg.context import Context
from aistrale_userorg.guardrails.api import router as guardrails_router
from aistrale_userorg.internal.api import router as internal_router
from aistrale_userorg.internal.engine import close_lookup_engine, open_lookup_engine
from aistrale_userorg.invitations.api import router as invitations_router
from aistrale_userorg.keys.api import router as keys_router
from aistrale_userorg.keys.last_used import QUEUE as LAST_USED_QUEUE
from aistrale_userorg.keys.last_used import LastUsedConfig, consume_usage
from aistrale_userorg.members.api import router as members_router
from aistrale_userorg.mfa.api import router as mfa_router
from aistrale_userorg.org_policy.api import router as org_policy_router
from aistrale_userorg.orgs.api import router as orgs_router
from aistrale_userorg.outbox.relay import OutboxRelay
from aistrale_userorg.prompts.api import router as prompts_router
from aistrale_userorg.provider_credentials.api import rotation_router
from aistrale_userorg.provider_credentials.api import router as credentials_router
from aistrale_userorg.provider_credentials.rotation import run_periodically
from aistrale_userorg.security import dummy_hash
from aistrale_userorg.sessions.api import router as sessions_router
from aistrale_userorg.settings import SERVICE, Settings
from aistrale_userorg.uow import UnitOfWork
from aistrale_userorg.users import service as users_service
from aistrale_userorg.users.api import router as users_router

log = get_logger(__name__)
ROUTERS = (
    auth_router,
    sessions_router,
    users_router,
    orgs_router,
    org_policy_router,
    members_router,
    invitations_router,
    mfa_router,
    keys_router,
    budgets_router,
    credentials_router,
    rotation_router,
    prompts_router,
    guardrails_router,
    audit_router,
    internal_router,
)


def _start_rotation_job(context: Context) -> asyncio.Task[None] | None:
    """Only while a previous KEK is configured: that is when rows may need re-wrapping."""
    if context.settings.credentials_kek_previous is None:
        return None
    job = run_periodically(
        context.uow, context.keyring, context.settings.credentials_rotation_interval_s
    )
    return asyncio.create_task(job, name="credentials-kek-rotation")


async def _stop_quietly(consumer: Consumer) -> None:
    # Shutting down while the broker is away must still shut down; it requeues unacked.
    try:
        await consumer.stop()
    except Exception as exc:
        log.warning("consumer_stop_failed", error=f"{type(exc).__name__}: {exc}")


def _last_used_config(settings: Settings) -> LastUsedConfig:
    return LastUsedConfig(
        exchange=settings.usage_exchange,
        queue=f"{settings.queue_prefix}{LAST_USED_QUEUE}",
        prefetch=settings.last_used_prefetch,
        batch_size=settings.last_used_batch_size,
        linger_s=settings.last_used_linger_s,
    )


def _warn_if_sessions_are_local(settings: Settings) -> None:
    # Not refused: the admin API works without Redis; only console sessions need sharing.
    if settings.redis_url is None and settings.environment in ("staging", "production"):
        log.warning(
            "console_sessions_in_process",
            hint="set AISTRALE_REDIS_URL: other replicas and analytics cannot see these sessions",
        )


def _session_manager(settings: Settings, store: SessionStore) -> SessionManager:
    return SessionManager(
        store,
        idle_timeout_s=settings.session_idle_timeout_s,
        absolute_timeout_s=settings.session_absolute_timeout_s,
    )


def create_app(
    settings: Settings | None = None,
    *,
    bus: EventBus | None = None,
    kv: KeyValue | None = None,
    sessions: SessionStore | None = None,
) -> FastAPI:
    """`kv`: the security store shared with analytics in one process (`make run`); when
    None, Redis if configured, else a store of this process's own. `sessions`: the console's
    session store, likewise shared in `make run`."""
    settings = settings or Settings()
    metrics = ServiceMetrics(SERVICE)
    backlog = metrics.gauge("outbox_pending", "Control events not yet confirmed by the broker")
    policy = Policy()  # parsed once; a broken policy fails at startup, not per request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Context]:
        async with AsyncExitStack() as stack:
            opened = await stack.enter_async_context(
                open_core(settings.database_url_or_embedded(), settings.amqp_url, bus)
            )
            relay = OutboxRelay(
                opened.db,
                opened.bus,
                settings.control_exchange,
                batch=settings.outbox_batch,
                poll_s=settings.outbox_poll_s,
                publish_timeout_s=settings.outbox_publish_timeout_s,
                backlog=backlog,
            )
            store = kv
            if store is None:
                store = open_kv(settings.redis_url, settings.redis_prefix)
                stack.push_async_callback(store.close)
            session_store = sessions or open_session_store(
                settings.redis_url, settings.redis_prefix
            )
            if sessions is None:
                stack.push_async_callback(session_store.aclose)
                _warn_if_sessions_are_local(settings)
            lookup_engine = open_lookup_engine(opened.db)
            stack.push_async_callback(close_lookup_engine, lookup_engine, opened.db)
            context = Context(
                settings=settings,
                db=opened.db,
                bus=opened.bus,
                authz=Authorizer(
                    policy, require_platform_admin_mfa=settings.platform_admin_mfa_required()
                ),
                uow=UnitOfWork(opened.db, relay.poke),
                jwt_secret=settings.secret("jwt_secret"),
                service_token=settings.secret("service_token"),
                lookup_engine=lookup_engine,
                keyring=settings.keyring(),
                revocations=Revocations(store),
                kv=store,
                sessions=_session_manager(settings, session_store),
                cookies=SessionCookies(secure=settings.environment not in ("development", "test")),
            )
            # The dummy hash at the configured cost, made before the first login needs it.
            await asyncio.to_thread(dummy_hash, settings.bcrypt_rounds)
            await users_service.ensure_first_admin(context)
            relay.start()
            stack.push_async_callback(relay.stop)
            rotation_job = _start_rotation_job(context)
            if rotation_job is not None:
                stack.push_async_callback(stop_task, rotation_job)
            if settings.last_used_consumer:
                consumer = await consume_usage(
                    opened.db, opened.bus, metrics, _last_used_config(settings)
                )
                stack.push_async_callback(_stop_quietly, consumer)
            yield context

    app = build_app(
        SERVICE,
        settings,
        metrics,
        lifespan,
        docs_prefix="/admin/v1",
        validation_status=422,
        description="Admin API: orgs, users, keys, budgets, provider credentials, audit",
    )
    for router in ROUTERS:
        app.include_router(router)
    if settings.console_dist_dir is not None:
        app.include_router(console_router(settings.console_dist_dir))
    return app
