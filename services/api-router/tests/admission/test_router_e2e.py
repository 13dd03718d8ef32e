"""Budgets and rate limits through real router processes: real HTTP and the openai SDK, real
Redis and RabbitMQ, in front of the router's fake vLLM and fake user-org (its test helpers)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
import redis.asyncio as aioredis
from openai.types.chat import ChatCompletionMessageParam

from aistrale_common.budget_periods import period_label
from aistrale_common.events import OutgoingMessage, RabbitEventBus
from aistrale_common.events.schemas import ControlEvent
from aistrale_router.keys.record import BudgetRule
from aistrale_router.text.prompt_estimate import chat_prompt_tokens
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import drop_keys
from aistrale_testkit.router.fake_vllm import prompt_tokens
from aistrale_testkit.router.sdk import open_sdk

from .routers import Fleet, open_fleet, routers

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
MAX_TOKENS = 15  # the fake answers 15 words, one token each
ESTIMATE = chat_prompt_tokens(list(MESSAGES))
PROMPT = prompt_tokens({"messages": MESSAGES})  # what the fake reports
WORST = ESTIMATE * 1 + MAX_TOKENS * 2  # the harness catalog: 1 and 2 micro-USD per token


@pytest.fixture(scope="module")
def fleet(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with open_fleet(infra, tmp_path_factory.mktemp("admission-e2e")) as opened:
        yield opened


@pytest.fixture(scope="module")
def pair(fleet: Fleet) -> Iterator[tuple[str, str]]:
    """Two router processes sharing one Redis."""
    with routers(fleet, {"a": {}, "b": {}}) as running:
        yield running["a"].url, running["b"].url


@pytest.fixture(scope="module", autouse=True)
async def cleanup(fleet: Fleet, infra: Infra) -> AsyncIterator[None]:
    yield
    await drop_keys(infra.redis_url, fleet.prefix)


def sdk(url: str, key: str) -> openai.AsyncOpenAI:
    return open_sdk(url + "/v1", key, timeout=60)


async def chat(client: openai.AsyncOpenAI, *, stream: bool = False, **extra: Any) -> str:
    """'ok', or the error code of a refusal."""
    try:
        if stream:
            chunks = await client.chat.completions.create(
                model="chat-model", messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True, **extra
            )
            async for _ in chunks:
                pass
        else:
            await client.chat.completions.create(
                model="chat-model", messages=MESSAGES, max_tokens=MAX_TOKENS, **extra
            )
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        return str(body.get("code") or exc.status_code)
    return "ok"


async def spent(infra: Infra, fleet: Fleet, org_id: str) -> int:
    key = f"{fleet.prefix}{{{org_id}}}:b:org:{org_id}:s:{period_label('day', time.time())}"
    client: aioredis.Redis = aioredis.from_url(infra.redis_url)
    try:
        return int(await client.get(key) or 0)
    finally:
        await client.aclose()


def _sample(metrics_text: str, name: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def org_budget(org_id: str, limit: int) -> list[BudgetRule]:
    return [BudgetRule(scope="org", scope_id=org_id, limit_micro_usd=limit, period="day")]


async def test_200_concurrent_requests_half_streamed_cannot_overspend(
    fleet: Fleet, pair: tuple[str, str], infra: Infra
) -> None:
    org = "org_" + secrets.token_hex(4)
    budget = 10 * WORST  # pays for 10 worst cases
    key, _ = fleet.new_key(org_id=org, budgets=org_budget(org, budget))
    clients = [sdk(url, key) for url in pair]
    results = await asyncio.gather(*(chat(clients[i % 2], stream=i % 4 < 2) for i in range(200)))
    admitted = results.count("ok")
    assert admitted + results.count("insufficient_quota") == 200, set(results)
    assert 10 <= admitted < 30
    # The stated bound: the fake honours max_tokens (K = 0), so only the prompt estimate's
    # error can pass the budget, request by request.
    bound = admitted * max(0, PROMPT - ESTIMATE)
    await asyncio.sleep(0.5)  # settlements run right after each response
    total = await spent(infra, fleet, org)
    assert 0 < total <= budget + bound


async def test_two_routers_admit_a_busy_key_from_leases_and_give_them_back(
    fleet: Fleet, infra: Infra
) -> None:
    """A budget big enough to lease: most requests are admitted without Redis, the spend is
    still exact, and the leases are given back when the routers stop."""
    org = "org_" + secrets.token_hex(4)
    key, _ = fleet.new_key(org_id=org, budgets=org_budget(org, 10**9))
    held = f"{fleet.prefix}{{{org}}}:b:org:{org}:held"
    client: aioredis.Redis = aioredis.from_url(infra.redis_url)
    try:
        with routers(fleet, {"lease-a": {}, "lease-b": {}}) as running:
            clients = [sdk(r.url, key) for r in running.values()]
            for i in range(6):  # the first ones open the leases
                assert await chat(clients[i % 2]) == "ok"
            for _ in range(100):  # each router's lease, taken in the background
                fields = await client.hgetall(held)
                leases = [k for k in fields if k != b"_total"]
                if len(leases) == 2:
                    break
                await asyncio.sleep(0.05)
            assert len(leases) == 2 and int(fields[b"_total"]) > 100 * WORST
            results = await asyncio.gather(
                *(chat(clients[i % 2], stream=i % 3 == 0) for i in range(60))
            )
            assert results == ["ok"] * 60
            await asyncio.sleep(0.5)  # the last settlements
            assert await spent(infra, fleet, org) == 66 * (PROMPT + 2 * MAX_TOKENS)
            async with httpx.AsyncClient() as http:
                texts = [(await http.get(r.url + "/metrics")).text for r in running.values()]
            leased = [
                _sample(t, "aistrale_api_router_admission_lease_admissions_total") for t in texts
            ]
            assert sum(leased) >= 60  # the 60 at least; the first ones went to Redis
        assert int(await client.hget(held, "_total") or 0) == 0  # given back at shutdown
    finally:
        await client.aclose()


async def test_rpm_is_global_across_two_router_processes(
    fleet: Fleet, pair: tuple[str, str]
) -> None:
    key, _ = fleet.new_key(org_id="org_" + secrets.token_hex(4), rpm_limit=10)
    clients = [sdk(url, key) for url in pair]
    if time.time() % 60 > 50:  # one burst, one fixed minute window
        await asyncio.sleep(61 - time.time() % 60)
    results = await asyncio.gather(*(chat(clients[i % 2]) for i in range(16)))
    assert (results.count("ok"), results.count("rate_limit_exceeded")) == (10, 6)
    async with httpx.AsyncClient(base_url=pair[1]) as http:
        refused = await http.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "chat-model", "messages": MESSAGES},
        )
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit-requests"] == "10"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


async def test_responses_carry_openai_rate_limit_headers(
    fleet: Fleet, pair: tuple[str, str]
) -> None:
    key, _ = fleet.new_key(org_id="org_" + secrets.token_hex(4), rpm_limit=50, tpm_limit=10_000)
    raw = await sdk(pair[0], key).chat.completions.with_raw_response.create(
        model="chat-model", messages=MESSAGES, max_tokens=MAX_TOKENS
    )
    assert raw.headers["x-ratelimit-limit-requests"] == "50"
    assert raw.headers["x-ratelimit-remaining-requests"] == "49"
    assert raw.headers["x-ratelimit-limit-tokens"] == "10000"
    assert raw.headers["x-ratelimit-remaining-tokens"] == str(10_000 - ESTIMATE - MAX_TOKENS)
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")


async def test_the_budget_lowers_max_tokens_sent_upstream(
    fleet: Fleet, pair: tuple[str, str]
) -> None:
    org = "org_" + secrets.token_hex(4)
    key, _ = fleet.new_key(org_id=org, budgets=org_budget(org, ESTIMATE + 2 * 20))
    reply = await sdk(pair[0], key).chat.completions.create(
        model="chat-model", messages=MESSAGES, max_tokens=1000
    )
    assert fleet.vllm.log.bodies[-1]["max_tokens"] == 20  # what the budget pays for
    assert reply.usage is not None and reply.usage.completion_tokens == 15


async def test_a_stream_the_budget_pays_exactly_runs_to_its_end(
    fleet: Fleet, pair: tuple[str, str], infra: Infra
) -> None:
    """The budget pays for exactly one worst case and nothing more: the opening role chunk
    must not count as a sixteenth token (it once cut such streams with 'budget ran out')."""
    org = "org_" + secrets.token_hex(4)
    key, _ = fleet.new_key(org_id=org, budgets=org_budget(org, WORST))
    fleet.vllm.word_delay_s = 0.01  # one read per chunk, so the budget is checked on each
    try:
        chunks = await sdk(pair[0], key).chat.completions.create(
            model="chat-model", messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
        )
        words = [c.choices[0].delta.content async for c in chunks if c.choices]
    finally:
        fleet.vllm.word_delay_s = 0.0
    assert len([w for w in words if w]) == MAX_TOKENS
    await asyncio.sleep(0.5)
    assert await spent(infra, fleet, org) == PROMPT + 2 * MAX_TOKENS


async def test_a_raised_budget_reaches_the_router_within_a_second(
    fleet: Fleet, infra: Infra
) -> None:
    org = "org_" + secrets.token_hex(4)
    key, record = fleet.new_key(org_id=org, budgets=org_budget(org, WORST))
    with routers(fleet, {"listening": {}}, amqp=True) as running:
        client = sdk(running["listening"].url, key)
        assert await chat(client) == "ok"
        assert await chat(client) == "insufficient_quota"
        raised = org_budget(org, 100 * WORST)
        fleet.userorg.add_key(key, record.model_copy(update={"budgets": raised}))
        event = ControlEvent(type="budget.updated", org_id=org)
        bus = await RabbitEventBus.connect(infra.amqp_url)
        try:
            message = OutgoingMessage(event.routing_key(), event.model_dump_json().encode())
            await bus.publish(fleet.control_exchange, message)
        finally:
            await bus.close()
        started = time.monotonic()
        while (outcome := await chat(client)) != "ok":
            assert outcome == "insufficient_quota"
            assert time.monotonic() - started < 1.0, "the raised budget took over a second"
            await asyncio.sleep(0.05)


async def test_a_killed_router_reservation_expires_and_the_budget_recovers(
    fleet: Fleet, pair: tuple[str, str], infra: Infra
) -> None:
    # The fake streams one word per 50 ms past 100 words: 200 words take 10 s.
    slow: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi SLOW_STREAM"}]
    org = "org_" + secrets.token_hex(4)
    budget = chat_prompt_tokens(slow) + 2 * 200  # the slow request's worst case
    key, _ = fleet.new_key(org_id=org, budgets=org_budget(org, budget))
    with routers(fleet, {"doomed": {"AISTRALE_RESERVATION_TTL_S": "2"}}) as running:
        doomed = running["doomed"]
        stream = await sdk(doomed.url, key).chat.completions.create(
            model="chat-model", messages=slow, max_tokens=200, stream=True
        )
        await anext(aiter(stream))  # admitted, streaming: its hold is in Redis
        assert await chat(sdk(pair[0], key)) == "insufficient_quota"
        os.kill(doomed.pid, signal.SIGKILL)  # mid-request: it will never settle
        await stream.close()
        await asyncio.sleep(2.5)  # the dead router's 2 s reservation TTL
    assert await spent(infra, fleet, org) == 0  # the dead router never settled
    assert await chat(sdk(pair[0], key)) == "ok"


async def test_redis_down_policies_show_in_ready_and_metrics(fleet: Fleet) -> None:
    key, _ = fleet.new_key(org_id="org_" + secrets.token_hex(4), rpm_limit=100)
    specs = {
        "closed": {"AISTRALE_BUDGET_REDIS_DOWN_POLICY": "fail_closed"},
        "open": {"AISTRALE_BUDGET_REDIS_DOWN_POLICY": "fail_open"},
    }
    with routers(fleet, specs, redis_via_proxy=True) as running:
        for router in running.values():
            assert await chat(sdk(router.url, key)) == "ok"
        fleet.redis_proxy().cut()
        try:
            closed, opened = running["closed"].url, running["open"].url
            assert await chat(sdk(closed, key)) == "service_unavailable"
            assert await chat(sdk(opened, key)) == "ok"  # the per-process limiter decides
            async with httpx.AsyncClient() as http:
                ready_closed = await http.get(closed + "/ready", timeout=10)
                ready_open = await http.get(opened + "/ready", timeout=10)
                metrics = (await http.get(opened + "/metrics")).text
            assert ready_closed.status_code == 503
            assert ready_closed.json()["checks"]["limits"].startswith("error:")
            assert ready_open.status_code == 200
            assert ready_open.json()["checks"]["limits"].startswith("degraded:")
            assert "aistrale_api_router_admission_store_up 0.0" in metrics
            assert 'aistrale_api_router_admission_redis_down_policy{policy="fail_open"} 1.0' in (
                metrics
            )
        finally:
            fleet.redis_proxy().restore()
        await asyncio.sleep(1.2)  # past budget_redis_retry_s
        assert await chat(sdk(running["closed"].url, key)) == "ok"


async def test_every_choice_of_n_is_reserved_so_n_cannot_overspend(
    fleet: Fleet, pair: tuple[str, str], infra: Infra
) -> None:
    """`n` multiplies the output: a request with n=4 is reserved as four worst cases, so a
    budget for three such requests admits three of twelve at once, streamed or not."""
    org = "org_" + secrets.token_hex(4)
    worst_n4 = ESTIMATE + 4 * MAX_TOKENS * 2
    real = PROMPT + 4 * MAX_TOKENS * 2  # the fake answers every choice in full
    budget = 3 * max(worst_n4, real)
    key, _ = fleet.new_key(org_id=org, budgets=org_budget(org, budget))
    clients = [sdk(url, key) for url in pair]
    results = await asyncio.gather(
        *(chat(clients[i % 2], stream=i % 2 == 1, n=4) for i in range(12))
    )
    assert sorted(results) == ["insufficient_quota"] * 9 + ["ok"] * 3
    await asyncio.sleep(0.5)
    assert await spent(infra, fleet, org) == 3 * real <= budget


async def test_n_above_the_configured_cap_is_refused(fleet: Fleet, pair: tuple[str, str]) -> None:
    key, _ = fleet.new_key(org_id="org_" + secrets.token_hex(4))
    with pytest.raises(openai.BadRequestError) as refused:
        await sdk(pair[0], key).chat.completions.create(
            model="chat-model", messages=MESSAGES, max_tokens=16, n=1000
        )
    assert refused.value.status_code == 400
    body = refused.value.body
    assert isinstance(body, dict) and body["param"] == "n" and "at most 16" in body["message"]
