"""Builds the gateway from settings and opened connections, and runs its background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from opentelemetry.trace import Tracer

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.internal_client import internal_client
from aistrale_common.kv import open_kv
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import CoreResources
from aistrale_common.shutdown import Drain
from aistrale_common.tasks import stop_tasks
from aistrale_common.tracing import inject_httpx
from aistrale_router.admission import ManagedGatekeeper
from aistrale_router.answer_cache import AnswerCache
from aistrale_router.catalog.schema import Catalog
from aistrale_router.catalog.store import CatalogStore
from aistrale_router.gateway.cutoff import Cutoff
from aistrale_router.gateway.metering import Metering
from aistrale_router.gateway.metrics import GatewayMetrics
from aistrale_router.gateway.prepare import RequestPreparer
from aistrale_router.gateway.service import Gateway
from aistrale_router.governance.chat import Governance
from aistrale_router.governance.guard import PiiGuard, pii_detections
from aistrale_router.governance.sources import GovernanceSource, on_control_event
from aistrale_router.keys.cache import KeyCache
from aistrale_router.keys.control import listen_for_control_events
from aistrale_router.keys.lookup import UserOrgKeyLookup
from aistrale_router.keys.metrics import KeyMetrics
from aistrale_router.keys.resolver import KeyResolver, RefreshPolicy
from aistrale_router.keys.signatures import SignatureCheck
from aistrale_router.metering import build_usage_sink
from aistrale_router.metering.bodies import BodyRecorder
from aistrale_router.observability.genai import traced
from aistrale_router.providers import default_registry
from aistrale_router.providers.credentials import CredentialResolver, HttpOrgCredentials
from aistrale_router.providers.plan_keys import UpstreamKeys
from aistrale_router.queueing import QueueGate
from aistrale_router.routing.forward import Forwarder, RetryPolicy
from aistrale_router.routing.health import HealthProber
from aistrale_router.routing.latency import LatencyStats
from aistrale_router.routing.load import VllmLoadScraper
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.settings import Settings
from aistrale_router.upstream.port import UpstreamClient


class GatewayRef:
    """The routes exist before the lifespan opens connections; this is where they meet."""

    def __init__(self) -> None:
        self.current: Gateway | None = None

    def get(self) -> Gateway:
        if self.current is None:
            raise ServiceUnavailable("The gateway is starting; retry shortly.")
        return self.current

    def deployments(self) -> tuple[Catalog, DeploymentStates] | None:
        """The catalog and routing state, once running (the deployment gauges read them)."""
        current = self.current
        return None if current is None else (current.catalog.catalog, current.states)

    def in_catalog(self, name: str) -> bool:
        """A model's or an experiment's name: both bounded by the catalog (metric labels)."""
        current = self.current
        if current is None:
            return False
        catalog = current.catalog.catalog
        return catalog.get(name) is not None or catalog.experiment(name) is not None


def build_upstream_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> UpstreamClient:
    """Production uses the lean client (`upstream/lean`, measured in
    docs/decisions/router-upstream-client.md); `AISTRALE_UPSTREAM_CLIENT=aiohttp` selects
    aiohttp; an injected httpx transport (tests, the single-process platform) selects httpx."""
    if transport is not None:
        from aistrale_router.upstream.httpx_client import HttpxUpstream

        return HttpxUpstream(settings, transport)
    if settings.upstream_client == "aiohttp":
        from aistrale_router.upstream.aiohttp_client import AiohttpUpstream

        return AiohttpUpstream(settings)
    from aistrale_router.upstream.lean import LeanUpstream

    return LeanUpstream(settings)


def key_cache(settings: Settings) -> KeyCache:
    return KeyCache(
        ttl_s=settings.key_cache_ttl_s,
        negative_ttl_s=settings.key_negative_ttl_s,
        grace_s=settings.key_stale_grace_s,
        max_size=settings.key_cache_size,
    )


def key_resolver(
    settings: Settings, cache: KeyCache, lookup: UserOrgKeyLookup, metrics: ServiceMetrics
) -> KeyResolver:
    policy = RefreshPolicy(
        retry_s=settings.key_refresh_retry_s,
        retry_max_s=settings.key_refresh_retry_max_s,
        failing_s=settings.key_userorg_failing_s,
    )
    return KeyResolver(cache, lookup, policy=policy, metrics=KeyMetrics(metrics))


@asynccontextmanager
async def open_gateway(
    settings: Settings,
    core: CoreResources,
    gatekeeper: ManagedGatekeeper,
    metrics: ServiceMetrics,
    *,
    requests: GatewayMetrics,
    drain: Drain,
    userorg_transport: httpx.AsyncBaseTransport | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    tracer: Tracer | None = None,
) -> AsyncIterator[Gateway]:
    userorg = internal_client(
        settings.user_org_url,
        transport=userorg_transport,
        timeout=settings.key_lookup_timeout_s,
        event_hooks={"request": [inject_httpx]},  # key lookups join the request's trace
    )
    upstream = traced(build_upstream_client(settings, upstream_transport), tracer)
    sink = build_usage_sink(settings, core.bus, core.db, metrics)
    states = DeploymentStates(settings.breaker_failures, settings.breaker_open_s)
    latency = LatencyStats()
    store = CatalogStore(settings.models_file, os.environ)
    cache = key_cache(settings)
    token = settings.secret("service_token")
    org_credentials = HttpOrgCredentials(
        userorg, settings.user_org_url, token, settings.org_credentials_ttl_s
    )
    governance = GovernanceSource(userorg, settings.user_org_url, token, settings.governance_ttl_s)
    adapters = default_registry()
    resolver = CredentialResolver(store.platform_keys, org_credentials)
    cutoff = Cutoff(settings.shutdown_grace_s)
    seen = open_kv(settings.redis_url, settings.redis_prefix)
    answers = answer_cache(settings, requests)
    drain.on_begin(cutoff.begin)
    gateway = Gateway(
        keys=key_resolver(settings, cache, UserOrgKeyLookup(userorg, token), metrics),
        catalog=store,
        picker=DeploymentPicker(states, latency=latency, decisions=requests.routing),
        forwarder=Forwarder(upstream, states, _retry_policy(settings)),
        gatekeeper=gatekeeper,
        metering=Metering(sink, gatekeeper, requests, BodyRecorder(sink), latency),
        preparer=RequestPreparer(adapters, UpstreamKeys(resolver, adapters.byok_providers())),
        cutoff=cutoff,
        max_choices=settings.max_choices,
        # Seen signatures (replay protection): Redis when configured, shared by replicas.
        signatures=SignatureCheck(seen),
        answers=answers,
        first_event_timeout_s=settings.upstream_first_byte_timeout_s,
        queue=QueueGate(states, settings.queue_max_depth, requests.queue),
        queue_wait_s=settings.queue_wait_s,
        governance=Governance(governance, PiiGuard(pii_detections(metrics))),
    )
    consumer = await listen_for_control_events(
        core.bus,
        settings.control_exchange,
        cache,
        org_credentials.invalidate,
        on_control_event(governance),
    )
    await sink.start()
    prober = HealthProber(upstream, store, states)
    scraper = VllmLoadScraper(
        upstream,
        store,
        states,
        interval_s=settings.vllm_load_interval_s,
        waiting_limit=settings.vllm_waiting_limit,
    )
    tasks = [
        asyncio.create_task(store.watch(settings.catalog_poll_s)),
        asyncio.create_task(prober.run(settings.health_probe_interval_s)),
        asyncio.create_task(scraper.run()),
    ]
    try:
        yield gateway
    finally:
        cutoff.close()
        await stop_tasks(tasks)
        with contextlib.suppress(Exception):
            await consumer.stop()
        await gateway.metering.drain()
        await sink.stop()
        await upstream.close()
        await gateway.keys.close()  # background key refreshes, before their client closes
        await userorg.aclose()
        await seen.close()
        await answers.close()


def answer_cache(settings: Settings, requests: GatewayMetrics) -> AnswerCache:
    url = settings.answer_cache_redis_url or settings.redis_url
    return AnswerCache(
        open_kv(url, settings.redis_prefix),
        timeout_s=settings.answer_cache_timeout_s,
        retry_s=settings.answer_cache_retry_s,
        max_bytes=settings.answer_cache_max_bytes,
        local_max_bytes=settings.answer_cache_local_max_bytes,
        metrics=requests.answer_cache,
    )


def _retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.upstream_max_attempts,
        backoff_s=settings.upstream_backoff_s,
        first_byte_timeout_s=settings.upstream_first_byte_timeout_s,
    )
