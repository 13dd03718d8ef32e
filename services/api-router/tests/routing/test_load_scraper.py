"""The load scraper against fake vLLM servers over real HTTP, with the production client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from aistrale_router.catalog.store import CatalogStore
from aistrale_router.routing.load import VllmLoadScraper
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.settings import Settings
from aistrale_router.upstream.lean import LeanUpstream
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port

INTERVAL_S = 0.5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client() -> AsyncIterator[LeanUpstream]:
    made = LeanUpstream(Settings())
    try:
        yield made
    finally:
        await made.close()


@contextlib.contextmanager
def served(
    app: Starlette | None = None, max_num_seqs: int | None = None
) -> Iterator[tuple[FakeVllm, str]]:
    vllm = FakeVllm(max_num_seqs=max_num_seqs)
    with serve_in_thread(app or vllm.app) as url:
        yield vllm, url


def catalog(tmp_path: Path, *deployments: tuple[str, str, str]) -> CatalogStore:
    """deployments: (name, provider, base_url)."""
    entries = [
        {"name": name, "provider": provider, "base_url": url, "model": "fake-chat"}
        for name, provider, url in deployments
    ]
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": [{"name": "m", "deployments": entries}]}))
    return CatalogStore(path)


def scraper(
    client: LeanUpstream, store: CatalogStore, states: DeploymentStates, waiting_limit: int = 8
) -> VllmLoadScraper:
    return VllmLoadScraper(
        client, store, states, interval_s=INTERVAL_S, waiting_limit=waiting_limit
    )


@contextlib.asynccontextmanager
async def queued(url: str, streams: int) -> AsyncIterator[None]:
    """Slow streams held open against a fake vLLM, so that it has real running and waiting
    requests; they are dropped (and the fake's slots freed) on exit."""
    body = {
        "model": "fake-chat",
        "stream": True,
        "messages": [{"role": "user", "content": "SLOW_STREAM"}],
    }
    async with httpx.AsyncClient(timeout=10) as http, contextlib.AsyncExitStack() as stack:
        for _ in range(streams):
            response = await stack.enter_async_context(
                http.stream("POST", f"{url}/v1/chat/completions", json=body)
            )
            assert response.status_code == 200
        yield


async def until(condition: object, timeout_s: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_report_carries_the_servers_running_waiting_and_kv_usage(
    client: LeanUpstream, tmp_path: Path
) -> None:
    with served(max_num_seqs=1) as (vllm, url):
        store = catalog(tmp_path, ("a", "vllm", f"{url}/v1"))
        states = DeploymentStates(5, 10, clock=Clock())
        vllm.kv_cache_usage = 0.5
        async with queued(url, streams=4):
            await until(lambda: vllm.log.running == 1 and vllm.log.waiting == 3)
            await scraper(client, store, states, waiting_limit=3).scrape_all()
            report = states.get("a").report
            assert report is not None
            assert (report.running, report.waiting, report.kv_usage) == (1, 3, 0.5)
            assert not report.saturated  # 3 waiting is not more than the limit
            assert report.expires_at == report.at + 3 * INTERVAL_S
            await scraper(client, store, states, waiting_limit=2).scrape_all()
            assert states.load("a", report.at) == (True, 4)
        await until(lambda: vllm.log.running == 0 and vllm.log.waiting == 0)
        vllm.kv_cache_usage = 0.985
        await scraper(client, store, states).scrape_all()
        assert states.load("a", report.at) == (True, 0)  # KV cache full
        vllm.kv_cache_usage = 0.2
        await scraper(client, store, states).scrape_all()
        assert states.load("a", report.at) == (False, 0)


async def test_a_failing_metrics_endpoint_leaves_the_last_report_to_go_stale(
    client: LeanUpstream, tmp_path: Path
) -> None:
    with served() as (vllm, url):
        store = catalog(tmp_path, ("a", "vllm", f"{url}/v1"))
        clock = Clock()
        states = DeploymentStates(5, 10, clock=clock)
        vllm.kv_cache_usage = 1.0
        await scraper(client, store, states).scrape_all()
        first = states.get("a").report
        assert first is not None and first.saturated
        vllm.metrics_status = 500
        clock.now += INTERVAL_S
        await scraper(client, store, states).scrape_all()
        assert states.get("a").report is first
        assert vllm.log.metrics_scrapes == 2
        assert states.load("a", first.expires_at - 0.001) == (True, 0)
        assert states.load("a", first.expires_at) == (False, 0)  # stale: ignored


async def test_unreachable_foreign_and_non_vllm_deployments(
    client: LeanUpstream, tmp_path: Path
) -> None:
    async def not_vllm(request: Request) -> PlainTextResponse:
        return PlainTextResponse("# HELP http_requests_total x\nhttp_requests_total 3\n")

    plain = Starlette(routes=[Route("/metrics", not_vllm)])
    with served() as (vllm, url), served() as (other, other_url), served(plain) as (_, plain_url):
        store = catalog(
            tmp_path,
            ("down", "vllm", f"http://127.0.0.1:{free_port()}/v1"),
            ("plain", "vllm", f"{plain_url}/v1"),
            ("compat", "openai-compatible", f"{other_url}/v1"),
            ("a", "vllm", f"{url}/v1"),
        )
        states = DeploymentStates(5, 10, clock=Clock())
        await scraper(client, store, states).scrape_all()
        assert states.get("a").report is not None
        assert states.get("down").report is None
        assert states.get("plain").report is None
        assert states.get("compat").report is None
        assert other.log.metrics_scrapes == 0  # only vllm deployments are scraped
        assert vllm.log.metrics_scrapes == 1


async def test_the_loop_keeps_reports_fresh(client: LeanUpstream, tmp_path: Path) -> None:
    with served(max_num_seqs=1) as (_, url):
        store = catalog(tmp_path, ("a", "vllm", f"{url}/v1"))
        states = DeploymentStates(5, 10)
        running = VllmLoadScraper(client, store, states, interval_s=0.05, waiting_limit=8)
        task = asyncio.create_task(running.run())
        try:
            await until(lambda: states.get("a").report is not None)
            async with queued(url, streams=3):
                await until(lambda: states.load("a", states.now()) == (False, 3))
            await until(lambda: states.load("a", states.now()) == (False, 0))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
