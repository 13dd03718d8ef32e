"""Readiness of each deployment: a periodic GET {base_url}/models (vLLM and every
OpenAI-compatible server answer it). /v1/models reports a model ready when any of its
deployments answered the last probe.

A deployment busy with requests whose answers have all been good so far is healthy by that
fact and is not probed: a server that takes one request at a time (llama.cpp's, Ollama's)
would queue the probe behind the running generation, or, configured to, cut the generation
short for it (docs/decisions/local-model-busy-not-probed.md).

Hosted providers (OpenAI, Anthropic, ...) are not probed unless their deployment says
`probe: true` (a GET /models is free of tokens but not of rate limit); without it their
health is the breaker's passive statistics (routing/state.py `ready`)."""

from __future__ import annotations

import asyncio

from aistrale_common.logging import get_logger
from aistrale_common.tasks import every
from aistrale_router.catalog.schema import Deployment
from aistrale_router.catalog.store import CatalogStore
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.upstream.port import UpstreamClient, UpstreamTimedOut, UpstreamUnreachable

log = get_logger(__name__)
PROBE_TIMEOUT_S = 2.0
SELF_HOSTED = ("vllm", "openai-compatible")


class HealthProber:
    def __init__(
        self, client: UpstreamClient, store: CatalogStore, states: DeploymentStates
    ) -> None:
        self._client = client
        self._store = store
        self._states = states

    async def probe_all(self) -> None:
        # Deployments on one server (two catalog names for one local server) share a probe:
        # a busy one proves the server answers for the others too.
        servers: dict[tuple[str, str, str | None], list[Deployment]] = {}
        deployments = {d.id: d for m in self._store.catalog.models for d in m.deployments}
        for deployment in deployments.values():
            servers.setdefault(self._server(deployment), []).append(deployment)
        results = await asyncio.gather(*(self._probe(group) for group in servers.values()))
        for group, healthy in zip(servers.values(), results, strict=True):
            if healthy is None:
                continue  # not probed: the breaker's passive statistics speak for it
            for deployment in group:
                self._states.set_health(deployment.id, healthy)

    def _server(self, deployment: Deployment) -> tuple[str, str, str | None]:
        url = deployment.base_url.rstrip("/") + "/models"
        return deployment.provider, url, self._store.platform_key(deployment)

    def _answering(self, deployment: Deployment) -> bool:
        state = self._states.get(deployment.id)
        return state.inflight > 0 and state.failures == 0

    async def _probe(self, group: list[Deployment]) -> bool | None:
        provider, url, key = self._server(group[0])
        if provider not in SELF_HOSTED and not any(d.probe for d in group):
            return None  # hosted providers: a probe costs quota, unless the catalog asks
        if any(self._answering(d) for d in group):
            return True
        headers = probe_headers(provider, key)
        try:
            status, _ = await self._client.get(url, headers, PROBE_TIMEOUT_S)
        except (UpstreamTimedOut, UpstreamUnreachable) as exc:
            log.info("deployment_probe_failed", deployment=group[0].id, error=type(exc).__name__)
            return False
        return status == 200

    async def run(self, interval_s: float) -> None:
        await every(interval_s, self.probe_all, failure_event="deployment_probe_round_failed")


def probe_headers(provider: str, key: str | None) -> dict[str, str]:
    """The provider's own auth header on GET /models (Anthropic and Gemini take no bearer)."""
    if not key:
        return {}
    if provider == "anthropic":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if provider == "gemini":
        return {"x-goog-api-key": key}
    return {"authorization": f"Bearer {key}"}
