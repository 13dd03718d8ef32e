"""Load reports from vLLM deployments: every `interval_s`, GET `<server>/metrics` of each
`vllm` deployment and keep its running/waiting/KV-cache gauges in `DeploymentStates`.

A separate loop from the health prober (10 s): a queue forms and drains within seconds,
so a load report older than a few seconds misleads more than it helps. A report is
trusted for STALE_AFTER_INTERVALS intervals, then ignored (the picker falls back to this
router's own in-flight counts). Everything the picker needs (the `saturated` flag) is
worked out here, off the request path.
"""

from __future__ import annotations

import asyncio

from aistrale_common.logging import get_logger
from aistrale_common.tasks import every
from aistrale_router.catalog.schema import Deployment
from aistrale_router.catalog.store import CatalogStore
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.routing.vllm_metrics import VllmGauges, parse_vllm_gauges
from aistrale_router.upstream.port import UpstreamClient, UpstreamTimedOut, UpstreamUnreachable

log = get_logger(__name__)
STALE_AFTER_INTERVALS = 3
KV_CACHE_FULL = 0.98  # vLLM preempts running requests when it runs out of KV blocks
SCRAPE_TIMEOUT_S = 2.0


def metrics_url(base_url: str) -> str:
    """vLLM serves /metrics at the root, next to the OpenAI routes under /v1."""
    base = base_url.rstrip("/")
    return base.removesuffix("/v1") + "/metrics"


class VllmLoadScraper:
    def __init__(
        self,
        client: UpstreamClient,
        store: CatalogStore,
        states: DeploymentStates,
        *,
        interval_s: float,
        waiting_limit: int,
    ) -> None:
        self._client = client
        self._store = store
        self._states = states
        self._interval_s = interval_s
        self._waiting_limit = waiting_limit
        # A whole round must fit in an interval, or good reports would go stale waiting
        # for a hung deployment's scrape.
        self._timeout_s = min(SCRAPE_TIMEOUT_S, interval_s)
        self._failing: set[str] = set()  # logged once when it starts failing, not every round

    async def scrape_all(self) -> None:
        deployments = {
            d.id: d
            for m in self._store.catalog.models
            for d in m.deployments
            if d.provider == "vllm"
        }
        # This router's in-flight counts as the scrapes leave: what the reports will count.
        sent = {d: self._states.get(d).inflight for d in deployments}
        results = await asyncio.gather(*(self._scrape(d) for d in deployments.values()))
        for deployment_id, gauges in zip(deployments, results, strict=True):
            if gauges is not None:
                self._report(deployment_id, gauges, sent[deployment_id])

    def _report(self, deployment_id: str, gauges: VllmGauges, inflight_at: int) -> None:
        kv = gauges.kv_usage
        waiting = round(gauges.waiting)
        self._states.report_load(
            deployment_id,
            round(gauges.running),
            waiting,
            kv,
            saturated=waiting > self._waiting_limit or (kv is not None and kv >= KV_CACHE_FULL),
            fresh_for_s=STALE_AFTER_INTERVALS * self._interval_s,
            inflight_at=inflight_at,
        )

    async def _scrape(self, deployment: Deployment) -> VllmGauges | None:
        key = self._store.platform_key(deployment)
        headers = {"authorization": f"Bearer {key}"} if key else {}
        url = metrics_url(deployment.base_url)
        try:
            status, body = await self._client.get(url, headers, self._timeout_s)
        except (UpstreamTimedOut, UpstreamUnreachable) as exc:
            return self._outcome(deployment, None, type(exc).__name__)
        if status != 200:
            return self._outcome(deployment, None, f"status {status}")
        gauges = parse_vllm_gauges(body.decode("utf-8", "replace"), deployment.model)
        return self._outcome(deployment, gauges, "no vllm:num_requests_* gauges")

    def _outcome(
        self, deployment: Deployment, gauges: VllmGauges | None, error: str
    ) -> VllmGauges | None:
        """Logs when a deployment's scrapes start or stop failing, not on every round."""
        failing = deployment.id in self._failing
        if gauges is None and not failing:
            self._failing.add(deployment.id)
            log.info("vllm_load_scrape_failed", deployment=deployment.id, error=error)
        elif gauges is not None and failing:
            self._failing.discard(deployment.id)
            log.info("vllm_load_scrape_recovered", deployment=deployment.id)
        return gauges

    async def run(self) -> None:
        await every(self._interval_s, self.scrape_all, failure_event="vllm_load_scrape_crashed")
