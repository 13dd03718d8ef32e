"""The exact answer cache through real router processes: the openai SDK as the client, a fake
vLLM that counts what reaches it, real Redis shared by two routers (one of them reaching it
through a TCP proxy the tests cut), real RabbitMQ for the usage events."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
import redis.asyncio as aioredis
import yaml

from aistrale_common.budget_periods import period_label
from aistrale_common.events import RabbitEventBus, Subscription
from aistrale_router.keys.record import BudgetRule, KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import drop_keys
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import PRICING, UsageEvents, router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import TcpProxy

MODELS = ["cached-chat", "short-cache", "cached-embed", "plain-chat"]


@dataclass
class Pair:
    a: str  # router A: the cache in Redis directly
    b: str  # router B: the same Redis, its cache through `cache_proxy`
    vllm: FakeVllm
    userorg: FakeUserOrg
    cache_proxy: TcpProxy
    usage: UsageEvents
    prefix: str

    def new_key(self, org_id: str = "org_cache", **fields: Any) -> str:
        token = "sk-test-" + secrets.token_hex(16)
        record = {"key_id": "key_" + secrets.token_hex(4), "org_id": org_id, "status": "active"}
        self.userorg.add_key(token, KeyRecord.model_validate({**record, **fields}))
        return token

    def upstream_calls(self, marker: str) -> int:
        return sum(marker in str(body) for body in self.vllm.log.bodies)


def catalog(vllm_url: str) -> dict[str, object]:
    def model(name: str, upstream: str, **extra: object) -> dict[str, object]:
        deployment = {"provider": "vllm", "base_url": f"{vllm_url}/v1", "model": upstream}
        return {"name": name, "deployments": [deployment], "pricing": PRICING, **extra}

    return {
        "models": [
            model("cached-chat", "fake-chat", cache={"ttl_s": 60}),
            model("short-cache", "fake-chat", cache={"ttl_s": 0.5}),
            model("cached-embed", "fake-embed", endpoints=["embeddings"], cache={"ttl_s": 60}),
            model("plain-chat", "fake-chat"),
        ]
    }


@pytest.fixture(scope="module")
async def usage(infra: Infra) -> AsyncIterator[UsageEvents]:
    bus = await RabbitEventBus.connect(infra.amqp_url)
    collected = UsageEvents()
    await bus.subscribe(Subscription(infra.name("usage"), ("usage.v1.#",)), collected.on_message)
    try:
        yield collected
    finally:
        await bus.close()


@pytest.fixture(scope="module")
def pair(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, usage: UsageEvents
) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("answer-cache")
    vllm, token = FakeVllm(), secrets.token_urlsafe(24)
    userorg = FakeUserOrg(service_token=token)
    prefix = f"{infra.redis_prefix}cache-{secrets.token_hex(3)}:"
    host, port = infra.redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    proxy = TcpProxy(host, int(port)).start()
    shared = {"AISTRALE_REDIS_PREFIX": prefix, "AISTRALE_BUDGET_LEASE_DIVISOR": "0"}
    via_proxy = {
        **shared,
        "AISTRALE_ANSWER_CACHE_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0",
        "AISTRALE_ANSWER_CACHE_RETRY_S": "0.2",
    }
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        models_file = tmp / "models.yaml"
        models_file.write_text(yaml.safe_dump(catalog(vllm_url)))
        (tmp / "a").mkdir()
        (tmp / "b").mkdir()
        try:
            with (
                router_process(infra, tmp / "a", userorg_url, token, models_file, shared) as a,
                router_process(infra, tmp / "b", userorg_url, token, models_file, via_proxy) as b,
            ):
                yield Pair(a, b, vllm, userorg, proxy, usage, prefix)
        finally:
            proxy.stop()


@pytest.fixture(scope="module", autouse=True)
async def cleanup(pair: Pair, infra: Infra) -> AsyncIterator[None]:
    yield
    await drop_keys(infra.redis_url, pair.prefix)


def sdk(url: str, key: str) -> openai.AsyncOpenAI:
    return open_sdk(url + "/v1", key, timeout=30)


async def ask(
    client: openai.AsyncOpenAI, marker: str, model: str = "cached-chat", **extra: Any
) -> tuple[str, str | None, str]:
    """(body, x-aistrale-cache, x-request-id) of one chat completion."""
    raw = await client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": f"Say {marker}"}], **extra
    )
    completion = raw.parse()
    return completion.model_dump_json(), raw.headers.get("x-aistrale-cache"), raw.request_id or ""


def marker() -> str:
    return "m" + secrets.token_hex(6)


async def test_a_repeated_request_is_answered_once_upstream(pair: Pair) -> None:
    client, word = sdk(pair.a, pair.new_key()), marker()
    first, first_state, first_id = await ask(client, word)
    second, second_state, second_id = await ask(client, word)
    assert (first_state, second_state) == ("miss", "hit")
    assert pair.upstream_calls(word) == 1
    assert second == first  # the kept body, its `id` included
    assert first_id and second_id and second_id != first_id  # each request its own id


async def test_whitespace_and_key_order_do_not_matter(pair: Pair) -> None:
    key, word = pair.new_key(), marker()
    messages = f'[{{"role": "user", "content": "Say {word}"}}]'
    tight = messages.replace('": "', '":"').replace('", "', '","')
    bodies = [
        f'{{"model": "cached-chat", "messages": {messages}}}',
        f'{{\n  "messages" :{tight},"model":"cached-chat"  }}',
    ]
    states = []
    async with httpx.AsyncClient(base_url=pair.a, timeout=30) as http:
        for body in bodies:
            answer = await http.post(
                "/v1/chat/completions",
                content=body,
                headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
            )
            assert answer.status_code == 200, answer.text
            states.append(answer.headers["x-aistrale-cache"])
    assert states == ["miss", "hit"] and pair.upstream_calls(word) == 1


async def test_cache_false_opts_out_and_is_not_sent_upstream(pair: Pair) -> None:
    client, word = sdk(pair.a, pair.new_key()), marker()
    await ask(client, word)  # kept
    _, state, _ = await ask(client, word, extra_body={"cache": False})
    assert state == "bypass"
    assert pair.upstream_calls(word) == 2
    sent = [b for b in pair.vllm.log.bodies if word in str(b)]
    assert all("cache" not in body for body in sent)


async def test_a_cache_value_that_is_not_a_boolean_is_a_400(pair: Pair) -> None:
    client = sdk(pair.a, pair.new_key())
    with pytest.raises(openai.BadRequestError) as refused:
        await ask(client, marker(), extra_body={"cache": "yes"})
    assert refused.value.param == "cache"


async def test_another_org_never_gets_an_orgs_answer(pair: Pair) -> None:
    word = marker()
    _, mine, _ = await ask(sdk(pair.a, pair.new_key(org_id="org_one")), word)
    _, theirs, _ = await ask(sdk(pair.a, pair.new_key(org_id="org_two")), word)
    _, same_org, _ = await ask(sdk(pair.a, pair.new_key(org_id="org_one")), word)
    assert (mine, theirs, same_org) == ("miss", "miss", "hit")  # keys of one org share
    assert pair.upstream_calls(word) == 2


async def test_an_answer_expires_after_the_models_ttl(pair: Pair) -> None:
    client, word = sdk(pair.a, pair.new_key()), marker()
    states = [(await ask(client, word, model="short-cache"))[1] for _ in range(2)]
    await asyncio.sleep(0.7)  # the catalog's ttl_s is 0.5
    states.append((await ask(client, word, model="short-cache"))[1])
    assert states == ["miss", "hit", "miss"] and pair.upstream_calls(word) == 2


async def test_streams_bypass_and_models_without_cache_say_nothing(pair: Pair) -> None:
    client, word = sdk(pair.a, pair.new_key()), marker()
    async with client.chat.completions.with_streaming_response.create(
        model="cached-chat", messages=[{"role": "user", "content": word}], stream=True
    ) as streamed:
        assert streamed.headers["x-aistrale-cache"] == "bypass"
        assert [chunk async for chunk in streamed.iter_lines()]
    _, plain, _ = await ask(client, word, model="plain-chat")
    _, plain_again, _ = await ask(client, word, model="plain-chat")
    assert (plain, plain_again) == (None, None)
    assert pair.upstream_calls(word) == 3


async def test_embeddings_are_cached(pair: Pair) -> None:
    client, word = sdk(pair.a, pair.new_key()), marker()
    states, vectors = [], []
    for _ in range(2):
        raw = await client.embeddings.with_raw_response.create(model="cached-embed", input=word)
        states.append(raw.headers["x-aistrale-cache"])
        vectors.append(raw.parse().data[0].embedding)
    assert states == ["miss", "hit"] and vectors[0] == vectors[1]
    assert pair.upstream_calls(word) == 1


async def spent(infra: Infra, pair: Pair, org_id: str) -> tuple[int, int]:
    """The org's spend today and what is still reserved against it."""
    base = f"{pair.prefix}{{{org_id}}}:b:org:{org_id}"
    client: aioredis.Redis = aioredis.from_url(infra.redis_url)
    try:
        spend = int(await client.get(f"{base}:s:{period_label('day', time.time())}") or 0)
        held = int(await client.hget(f"{base}:held", "_total") or 0)
        return spend, held
    finally:
        await client.aclose()


async def settled(infra: Infra, pair: Pair, org_id: str, spend: int) -> tuple[int, int]:
    for _ in range(100):
        now = await spent(infra, pair, org_id)
        if now == (spend, 0):
            break
        await asyncio.sleep(0.05)
    return now


async def test_a_hit_costs_nothing_and_is_metered_as_cached(pair: Pair, infra: Infra) -> None:
    org = "org_" + secrets.token_hex(4)
    budget = [BudgetRule(scope="org", scope_id=org, limit_micro_usd=10**6, period="day")]
    client, word = sdk(pair.a, pair.new_key(org_id=org, budgets=budget)), marker()
    _, _, miss_id = await ask(client, word)
    missed = await pair.usage.wait_for(miss_id)
    assert missed.cost_micro_usd > 0 and not missed.cached
    assert await settled(infra, pair, org, missed.cost_micro_usd) == (missed.cost_micro_usd, 0)
    _, state, hit_id = await ask(client, word)
    assert state == "hit"
    hit = await pair.usage.wait_for(hit_id)
    assert hit.cached and hit.status == 200
    assert hit.cost_micro_usd == 0 and hit.saved_micro_usd == missed.cost_micro_usd
    assert (hit.prompt_tokens, hit.completion_tokens) == (0, 0)
    await asyncio.sleep(0.1)  # the hit's settlement (to 0) is due within 20 ms
    assert await settled(infra, pair, org, missed.cost_micro_usd) == (missed.cost_micro_usd, 0)


async def test_an_answer_the_budget_cut_short_is_not_kept(pair: Pair, infra: Infra) -> None:
    """1000 micro-USD pays for about 490 output tokens, fewer than the model's 4096: the
    budget lowered max_tokens, so the answer may be cut and must not be served later."""
    org = "org_" + secrets.token_hex(4)
    budget = [BudgetRule(scope="org", scope_id=org, limit_micro_usd=1000, period="day")]
    client, word = sdk(pair.a, pair.new_key(org_id=org, budgets=budget)), marker()
    _, first, miss_id = await ask(client, word)
    missed = await pair.usage.wait_for(miss_id)
    await settled(infra, pair, org, missed.cost_micro_usd)  # the hold is the whole budget
    _, second, _ = await ask(client, word)
    assert (first, second) == ("miss", "miss") and pair.upstream_calls(word) == 2
    sent = [b for b in pair.vllm.log.bodies if word in str(b)]
    assert all(b["max_tokens"] < 4096 for b in sent)


async def test_a_hit_still_counts_against_rpm(pair: Pair) -> None:
    client, word = sdk(pair.a, pair.new_key(rpm_limit=2)), marker()
    await ask(client, word)
    await ask(client, word)
    with pytest.raises(openai.RateLimitError):
        await ask(client, word)


async def test_a_miss_in_one_router_is_a_hit_in_the_other(pair: Pair) -> None:
    key, word = pair.new_key(), marker()
    first, a_state, _ = await ask(sdk(pair.a, key), word)
    second, b_state, _ = await ask(sdk(pair.b, key), word)
    assert (a_state, b_state) == ("miss", "hit") and first == second
    assert pair.upstream_calls(word) == 1


async def test_the_cache_store_away_still_answers_every_request(pair: Pair) -> None:
    """Router B reaches Redis through a proxy the test cuts: its requests are still served
    (what it holds in process still hits), and its answers reach Redis again afterwards."""
    b_key = pair.new_key()
    client, held, fresh = sdk(pair.b, b_key), marker(), marker()
    await ask(client, held)
    pair.cache_proxy.cut()
    try:
        states = [(await ask(client, fresh))[1] for _ in range(2)]
        assert (await ask(client, held))[1] == "hit"  # B's own copy, in process
    finally:
        pair.cache_proxy.restore()
    assert states == ["miss", "hit"] and pair.upstream_calls(fresh) == 1  # kept in process
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(pair.b + "/metrics")).text
    assert 'aistrale_api_router_answer_cache_total{result="store_error"}' in metrics
    await asyncio.sleep(0.3)  # past the router's answer_cache_retry_s
    a_client = sdk(pair.a, pair.new_key())
    for _ in range(50):  # a pooled connection the cut killed may cost one more try
        word = marker()
        await ask(client, word)  # B keeps it: in Redis once B reaches it again
        if (await ask(a_client, word))[1] == "hit":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("router B's answers did not reach Redis after it came back")
