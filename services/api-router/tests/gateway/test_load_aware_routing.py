"""Load-aware routing end to end: the router process scrapes two fake vLLM servers behind
one model and steers requests away from the one whose queue is long or KV cache is full,
and back when it recovers or its reports stop coming."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import yaml

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import PRICING, router_process
from aistrale_testkit.router.server import serve_in_thread

INTERVAL_S = 0.3
WAITING_LIMIT = 2
REQUESTS = 40
KEY = "sk-test-" + secrets.token_hex(16)


@dataclass
class Pool:
    url: str
    a: FakeVllm  # one sequence at a time: a few streams make a queue
    b: FakeVllm
    a_url: str


@pytest.fixture(scope="module")
def pool(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    tmp = tmp_path_factory.mktemp("load-aware")
    token = secrets.token_urlsafe(24)
    userorg = FakeUserOrg(service_token=token)
    record = {"key_id": "key_load", "org_id": "org_load", "status": "active"}
    userorg.add_key(KEY, KeyRecord.model_validate({**record, "allowed_models": ["pooled"]}))
    a, b = FakeVllm(max_num_seqs=1), FakeVllm()
    with (
        serve_in_thread(a.app) as a_url,
        serve_in_thread(b.app) as b_url,
        serve_in_thread(userorg.app) as userorg_url,
    ):
        deployments = [
            {"provider": "vllm", "base_url": f"{url}/v1", "model": "fake-chat", "name": name}
            for name, url in (("vllm-a", a_url), ("vllm-b", b_url))
        ]
        models = {"models": [{"name": "pooled", "deployments": deployments, "pricing": PRICING}]}
        models_file = tmp / "models.yaml"
        models_file.write_text(yaml.safe_dump(models))
        env = {
            "AISTRALE_VLLM_LOAD_INTERVAL_S": str(INTERVAL_S),
            "AISTRALE_VLLM_WAITING_LIMIT": str(WAITING_LIMIT),
        }
        with router_process(infra, tmp, userorg_url, token, models_file, env) as url:
            yield Pool(url, a, b, a_url)


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)


async def scraped_again(vllm: FakeVllm) -> None:
    """Two more scrapes of `vllm`: one began after the caller changed it, and has landed."""
    seen = vllm.log.metrics_scrapes
    await until(lambda: vllm.log.metrics_scrapes >= seen + 2)


async def split(pool: Pool) -> tuple[int, int]:
    """Sends REQUESTS chats through the router; how many reached a and b."""
    tag = secrets.token_hex(8)
    body = {"model": "pooled", "messages": [{"role": "user", "content": tag}]}
    headers = {"authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(REQUESTS):
            answer = await http.post(f"{pool.url}/v1/chat/completions", json=body, headers=headers)
            assert answer.status_code == 200, answer.text

    def reached(vllm: FakeVllm) -> int:
        return sum(1 for b in vllm.log.bodies if b["messages"][0]["content"] == tag)

    return reached(pool.a), reached(pool.b)


@contextlib.asynccontextmanager
async def queue_on(pool: Pool, streams: int) -> AsyncIterator[None]:
    """Slow streams sent straight to a (as other routers' clients would): one runs, the
    others wait in its queue until they are dropped on exit."""
    body = {
        "model": "fake-chat",
        "stream": True,
        "messages": [{"role": "user", "content": "SLOW_STREAM"}],
    }
    url = f"{pool.a_url}/v1/chat/completions"
    async with httpx.AsyncClient(timeout=30) as http, contextlib.AsyncExitStack() as stack:
        for _ in range(streams):
            response = await stack.enter_async_context(http.stream("POST", url, json=body))
            assert response.status_code == 200
        await until(lambda: pool.a.log.waiting == streams - 1)
        yield


async def test_requests_avoid_the_deployment_with_a_long_queue(pool: Pool) -> None:
    await scraped_again(pool.a)
    on_a, on_b = await split(pool)
    assert on_a >= 8 and on_b >= 8, (on_a, on_b)  # idle and equal weights: both get work

    async with queue_on(pool, streams=WAITING_LIMIT + 3):
        await scraped_again(pool.a)
        assert await split(pool) == (0, REQUESTS)

    await until(lambda: pool.a.log.running == pool.a.log.waiting == 0)
    await scraped_again(pool.a)
    on_a, on_b = await split(pool)
    assert on_a >= 8 and on_b >= 8, (on_a, on_b)  # the queue is gone: a is back


async def test_a_full_kv_cache_is_avoided_until_its_report_goes_stale(pool: Pool) -> None:
    pool.a.kv_cache_usage = 0.99
    try:
        await scraped_again(pool.a)
        assert await split(pool) == (0, REQUESTS)
        # a's /metrics breaks: its last report (KV cache full) is trusted for three
        # intervals, then the router goes by its own in-flight counts again.
        pool.a.metrics_status = 500
        failed_from = pool.a.log.metrics_scrapes
        await until(lambda: pool.a.log.metrics_scrapes >= failed_from + 4)
        on_a, on_b = await split(pool)
        assert on_a >= 8 and on_b >= 8, (on_a, on_b)
    finally:
        pool.a.kv_cache_usage = 0.0
        pool.a.metrics_status = 200
