"""Routing strategies and affinity end to end: two router processes on real Redis and
RabbitMQ in front of four fake vLLM servers, driven with the official openai SDK.

Two routers agree on prefix and key affinity (the ring is a pure function of the
deployment ids); affinity yields to an open breaker; bounded load spreads a hot prefix;
least_load follows the servers' /metrics gauges; latency prefers the faster server; cost
the cheaper one. Each model has its own deployment names, so their breakers and loads are
their own even where two models share a server."""

from __future__ import annotations

import asyncio
import math
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import orjson
import pytest
import yaml

from aistrale_router.keys.record import KeyRecord
from aistrale_router.routing.affinity.ring import HashRing, key_point
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import PRICING, UsageEvents, router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread

from .test_load_aware_routing import until
from .test_request_metrics import scrape, value

SERVERS = ("a", "b", "c", "d")
KEYS = 6
BREAKER_FAILURES = 2


@dataclass
class Stack:
    urls: tuple[str, str]  # two router processes, one catalog
    fakes: dict[str, FakeVllm]
    keys: list[str]
    usage: UsageEvents

    def sdk(self, router: int = 0, key: int = 0) -> openai.AsyncOpenAI:
        return open_sdk(f"{self.urls[router]}/v1", self.keys[key], timeout=20)

    def landed(self, tag: str) -> list[str]:
        """The servers that received a request carrying `tag`, once per request."""
        return [
            name
            for name, fake in self.fakes.items()
            for body in fake.log.bodies
            if tag in orjson.dumps(body.get("messages")).decode()
        ]


def _model(name: str, servers: dict[str, str], routing: dict[str, Any], **extra: Any) -> Any:
    deployments = [
        {"provider": "vllm", "base_url": f"{url}/v1", "model": "fake-chat", "name": f"{name}-{s}"}
        for s, url in servers.items()
    ]
    for deployment in deployments:
        deployment.update(extra.get(deployment["name"], {}))
    return {"name": name, "deployments": deployments, "pricing": PRICING, "routing": routing}


def _price(micro_usd: int) -> dict[str, Any]:
    return {"pricing": {"input_micro_usd_per_mtok": micro_usd, "output_micro_usd_per_mtok": 0}}


def _catalog(urls: dict[str, str]) -> dict[str, Any]:
    two = {s: urls[s] for s in ("a", "b")}
    return {
        "models": [
            _model("by-key", urls, {"affinity": "key"}),
            _model("by-prefix", urls, {"affinity": "prefix"}),
            _model("by-prefix-breaker", urls, {"affinity": "prefix"}),
            _model("least", two, {"strategy": "least_load"}),
            _model("fast", two, {"strategy": "latency"}),
            _model(
                "cheap",
                two,
                {"strategy": "cost"},
                **{"cheap-a": _price(5_000_000), "cheap-b": _price(1_000_000)},
            ),
        ]
    }


@pytest.fixture(scope="module")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, usage_events: UsageEvents
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("routing")
    token = secrets.token_urlsafe(24)
    userorg = FakeUserOrg(service_token=token)
    keys = ["sk-test-" + secrets.token_hex(16) for _ in range(KEYS)]
    for i, key in enumerate(keys):
        record = {"key_id": f"key_route_{i}", "org_id": "org_route", "status": "active"}
        userorg.add_key(key, KeyRecord.model_validate(record))
    fakes = {name: FakeVllm() for name in SERVERS}
    env = {
        "AISTRALE_VLLM_LOAD_INTERVAL_S": "0.3",
        "AISTRALE_BREAKER_FAILURES": str(BREAKER_FAILURES),
        "AISTRALE_BREAKER_OPEN_S": "120",  # stays open for the module
    }
    with (
        serve_in_thread(fakes["a"].app) as a,
        serve_in_thread(fakes["b"].app) as b,
        serve_in_thread(fakes["c"].app) as c,
        serve_in_thread(fakes["d"].app) as d,
        serve_in_thread(userorg.app) as userorg_url,
    ):
        models_file = tmp / "models.yaml"
        models_file.write_text(
            yaml.safe_dump(_catalog(dict(zip(SERVERS, (a, b, c, d), strict=True))))
        )
        with (
            router_process(
                infra, tmp_path_factory.mktemp("router-one"), userorg_url, token, models_file, env
            ) as one,
            router_process(
                infra, tmp_path_factory.mktemp("router-two"), userorg_url, token, models_file, env
            ) as two,
        ):
            yield Stack((one, two), fakes, keys, usage_events)


def _chat(tag: str, question: str = "Hi") -> list[Any]:
    return [{"role": "system", "content": f"You are {tag}."}, {"role": "user", "content": question}]


async def _ask(client: openai.AsyncOpenAI, model: str, messages: list[Any], **kw: Any) -> str:
    answer = await client.chat.completions.with_raw_response.create(
        model=model, messages=messages, max_tokens=4, **kw
    )
    return str(answer.headers["x-request-id"])


async def test_two_routers_send_a_prefix_to_the_same_deployment(stack: Stack) -> None:
    tags = [f"prefix-{secrets.token_hex(4)}-{i}" for i in range(12)]
    for tag in tags:
        for router in (0, 1, 0, 1):  # later turns too: they repeat the first turn's head
            turn = [{"role": "assistant", "content": "Hello"}, {"role": "user", "content": tag}]
            await _ask(stack.sdk(router), "by-prefix", [*_chat(tag), *turn])
    homes = {tag: set(stack.landed(tag)) for tag in tags}
    assert all(len(home) == 1 for home in homes.values()), homes
    assert len(set().union(*homes.values())) >= 2  # prefixes spread over the servers
    # The very ring both routers built, computed here: a pure function of the ids.
    ring = HashRing([f"by-prefix-{s}" for s in SERVERS])
    for tag, home in homes.items():
        head = f"system\x00You are {tag}.\x00user\x00Hi\x00"
        assert home == {SERVERS[ring.walk(key_point(head.encode()))[0]]}


async def test_two_routers_keep_a_key_on_one_deployment(stack: Stack) -> None:
    tag = f"key-{secrets.token_hex(4)}"
    seen: dict[int, set[str]] = {}
    for key in range(KEYS):
        before = {n: len(f.log.bodies) for n, f in stack.fakes.items()}
        for router in (0, 1, 1, 0):
            await _ask(stack.sdk(router, key), "by-key", _chat(f"{tag}-{secrets.token_hex(3)}"))
        seen[key] = {n for n, f in stack.fakes.items() if len(f.log.bodies) > before[n]}
    assert all(len(servers) == 1 for servers in seen.values()), seen
    assert len(set().union(*seen.values())) >= 2, seen  # six keys: not all on one server


async def test_affinity_skips_a_deployment_whose_breaker_is_open(stack: Stack) -> None:
    tag = f"breaker-{secrets.token_hex(4)}"
    messages = _chat(tag)
    client = stack.sdk(0)
    await _ask(client, "by-prefix-breaker", messages)
    (home,) = stack.landed(tag)
    stack.fakes[home].fail_status = 500
    try:
        for _ in range(BREAKER_FAILURES):  # each fails on home, then succeeds on a retry
            await _ask(client, "by-prefix-breaker", messages)
        before = Counter(stack.landed(tag))
        for _ in range(6):
            await _ask(client, "by-prefix-breaker", messages)
    finally:
        stack.fakes[home].fail_status = None
    assert before[home] == 1 + BREAKER_FAILURES
    (retried_on,) = set(before) - {home}  # the plan's next: the ring's next server
    after = Counter(stack.landed(tag)) - before
    assert after == {retried_on: 6}, after  # home not asked again; the same spill every time
    samples = await scrape(stack.urls[0])
    labels = {"model": "by-prefix-breaker", "strategy": "weighted", "reason": "affinity_spill"}
    spilled = value(
        samples, "routing_decisions_total", deployment=f"by-prefix-breaker-{retried_on}", **labels
    )
    assert spilled >= 6
    healthy = {"model": "by-prefix-breaker", "provider": "vllm"}
    assert (
        value(samples, "deployment_healthy", deployment=f"by-prefix-breaker-{home}", **healthy) == 0
    )
    assert (
        value(
            samples, "deployment_healthy", deployment=f"by-prefix-breaker-{retried_on}", **healthy
        )
        == 1
    )


async def test_bounded_load_spreads_one_hot_prefix(stack: Stack) -> None:
    tag = f"hot-{secrets.token_hex(4)}"
    streams = 8
    for fake in stack.fakes.values():
        fake.word_delay_s = 0.2  # each stream lasts 1.6 s or more: they overlap
    try:
        client = stack.sdk(0)

        async def one() -> None:
            stream = await client.chat.completions.create(
                model="by-prefix", messages=_chat(tag), max_tokens=8, stream=True
            )
            async for _ in stream:
                pass

        await asyncio.gather(*(one() for _ in range(streams)))
    finally:
        for fake in stack.fakes.values():
            fake.word_delay_s = 0.0
    placed = {name: stack.landed(tag).count(name) for name in SERVERS}
    assert sum(placed.values()) == streams
    assert len([n for n in placed.values() if n]) >= 3, placed
    assert max(placed.values()) <= math.ceil(1.25 * streams / len(SERVERS)), placed


async def _split(stack: Stack, model: str, n: int, **kw: Any) -> dict[str, int]:
    tag = f"{model}-{secrets.token_hex(4)}"
    client = stack.sdk(1)
    for _ in range(n):
        if kw.get("stream"):
            stream = await client.chat.completions.create(
                model=model, messages=_chat(tag), max_tokens=8, stream=True
            )
            async for _ in stream:
                pass
        else:
            await _ask(client, model, _chat(tag))
    landed = stack.landed(tag)
    return {name: landed.count(name) for name in ("a", "b")}


async def _scraped(fake: FakeVllm) -> None:
    """Every router has scraped `fake` for each of its deployments since the caller changed
    it: a round of each router may be under way (6 deployments a server, 2 routers), and
    two more follow it."""
    seen = fake.log.metrics_scrapes
    await until(lambda: fake.log.metrics_scrapes >= seen + 3 * 6 * 2)


async def test_least_load_follows_the_servers_gauges(stack: Stack) -> None:
    a, b = stack.fakes["a"], stack.fakes["b"]
    try:
        a.kv_cache_usage, b.kv_cache_usage = 0.6, 0.1  # equal queues, a's cache fuller
        await _scraped(a)
        await _scraped(b)
        assert await _split(stack, "least", 10) == {"a": 0, "b": 10}
        a.kv_cache_usage, b.reported_waiting = 0.1, 3  # now b has a queue
        await _scraped(a)
        await _scraped(b)
        assert await _split(stack, "least", 10) == {"a": 10, "b": 0}
    finally:
        a.kv_cache_usage = b.kv_cache_usage = 0.0
        b.reported_waiting = None


async def test_latency_prefers_the_faster_server(stack: Stack) -> None:
    slow = stack.fakes["b"]
    slow.word_delay_s = 0.05
    try:
        await _split(stack, "fast", 4, stream=True)  # both measured (unmeasured go first)
        split = await _split(stack, "fast", 20, stream=True)
    finally:
        slow.word_delay_s = 0.0
    assert split["a"] >= 16, split  # a few may explore (5%)


async def test_cost_prefers_the_cheaper_deployment_and_prices_with_it(stack: Stack) -> None:
    tag = f"cost-{secrets.token_hex(4)}"
    client = stack.sdk(1)
    ids = [await _ask(client, "cheap", _chat(tag)) for _ in range(8)]
    assert stack.landed(tag) == ["b"] * 8
    event = await stack.usage.wait_for(ids[-1])
    assert (event.deployment, event.provider, event.served_model) == (
        "cheap-b",
        "vllm",
        "fake-chat",
    )
    # The deployment's own price (1 micro-USD a prompt token, nothing for output), not the
    # model's (which charges output too).
    assert event.completion_tokens > 0
    assert event.cost_micro_usd == event.prompt_tokens
    # Every request of this module that reached routing names its deployment and provider.
    mine = [e for e in stack.usage.events if e.org_id == "org_route"]
    assert len(mine) >= 8 and all(e.deployment and e.provider for e in mine)
    samples = await scrape(stack.urls[1])
    labels = {"model": "cheap", "strategy": "cost", "deployment": "cheap-b", "reason": "strategy"}
    assert value(samples, "routing_decisions_total", **labels) >= 8
