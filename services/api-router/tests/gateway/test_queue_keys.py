"""Per key/org queue waits and priorities end to end: a real user-org process on Postgres
and RabbitMQ, a real router (Redis), the openai SDK as the client, a fake vLLM upstream
whose `fake-slow` answers after a while. Every model here has one deployment capped at one
request in flight, so a slow request holds it and the next one must queue (or be refused).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
import yaml

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import PRICING, router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port

from .userorg_process import userorg_env
from .userorg_stack import Admin, userorg_process

SLOW_S = 0.6  # how long `fake-slow` takes on the "capped" model's upstream
HELD_S = 3.0  # ... and on "held"'s: long enough to PATCH and retry while it is busy
MODEL_WAIT_S = 10.0  # the models' own queue_wait_s, which a key's or org's overrides
ROUTER_ENV = {
    "AISTRALE_KEY_CACHE_TTL_S": "300",  # a change arrives by event, not by expiry
    "AISTRALE_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "10",  # above HELD_S
}


@dataclass
class Stack:
    router: str
    userorg: str
    vllm: FakeVllm  # behind "capped"
    held_vllm: FakeVllm  # behind "held"

    def client(self, key: str) -> openai.AsyncOpenAI:
        return open_sdk(self.router + "/v1", key, timeout=30)

    async def depth(self) -> float:
        async with httpx.AsyncClient() as http:
            text = (await http.get(self.router + "/metrics")).text
        line = next(x for x in text.splitlines() if x.startswith("aistrale_api_router_queue_depth"))
        return float(line.split()[-1])


def _catalog(fast_url: str, held_url: str) -> dict[str, Any]:
    def capped(name: str, url: str) -> dict[str, Any]:
        deployment = {
            "provider": "vllm",
            "base_url": f"{url}/v1",
            "model": "fake-slow",
            "name": f"{name}-deployment",
            "max_concurrency": 1,
        }
        return {
            "name": name,
            "deployments": [deployment],
            "pricing": PRICING,
            "queue_wait_s": MODEL_WAIT_S,
        }

    return {"models": [capped("capped", fast_url), capped("held", held_url)]}


@pytest.fixture(scope="module")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, create_pg_database: Callable[[str], str]
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("queue-keys")
    token = secrets.token_urlsafe(32)
    env = userorg_env(infra, tmp, create_pg_database("queue_keys"), token, "queue-keys")
    env["AISTRALE_LAST_USED_CONSUMER"] = "false"
    fast, held = FakeVllm(slow_s=SLOW_S), FakeVllm(slow_s=HELD_S)
    with (
        serve_in_thread(fast.app) as fast_url,
        serve_in_thread(held.app) as held_url,
        userorg_process(free_port(), env, tmp / "user-org.log") as userorg,
    ):
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(fast_url, held_url)))
        with router_process(infra, tmp, userorg.url, token, models, ROUTER_ENV) as router:
            yield Stack(router, userorg.url, fast, held)


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[Admin]:
    admin = Admin(stack.userorg)
    try:
        yield admin
    finally:
        await admin.close()


async def new_org(admin: Admin, **queue: Any) -> str:
    name = "queue-" + secrets.token_hex(4)
    created = await admin.send("POST", "/admin/v1/orgs", {"name": name, **queue})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def new_key(admin: Admin, org_id: str, **queue: Any) -> tuple[str, str]:
    return await admin.new_key(org_id, allowed_models=None, **queue)


async def ask(stack: Stack, key: str, model: str = "capped", text: str = "hi") -> str:
    answer = await stack.client(key).chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], max_tokens=5
    )
    return answer.choices[0].message.content or ""


async def until(check: Callable[[], Any], what: str) -> None:
    """Polls a condition a timer or another process makes true (no fixed sleeps)."""
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.01)


def upstream_texts(vllm: FakeVllm) -> list[str]:
    return [str(b["messages"][-1]["content"]) for b in vllm.log.bodies]


async def hold(stack: Stack, key: str, model: str = "capped") -> asyncio.Task[str]:
    """A slow request holding the model's one slot, in flight upstream when this returns."""
    bodies = (stack.vllm if model == "capped" else stack.held_vllm).log.bodies
    seen = len(bodies)
    holder = asyncio.create_task(ask(stack, key, model, "hold"))

    async def upstream() -> bool:
        return len(bodies) > seen

    await until(upstream, "the holder reached upstream")
    return holder


async def test_a_keys_or_orgs_wait_overrides_the_models(stack: Stack, admin: Admin) -> None:
    org_id = await new_org(admin)
    holder, _ = await new_key(admin, org_id)
    impatient, _ = await new_key(admin, org_id, queue_wait_s=0)
    patient, _ = await new_key(admin, org_id, queue_wait_s=5)
    strict_org = await new_org(admin, queue_wait_s=0)
    inherits, _ = await new_key(admin, strict_org)
    held = await hold(stack, holder)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as refused:  # the model would wait 10 s
        await ask(stack, impatient)
    assert refused.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.RateLimitError):  # its org's 0 s, inherited
        await ask(stack, inherits)
    assert not held.done()  # both refused while the slot was held, not after a wait
    assert await ask(stack, patient)  # waits for the holder, then is served
    assert await held and time.monotonic() - started < 5


async def test_a_high_priority_waiter_queued_later_is_served_first(
    stack: Stack, admin: Admin
) -> None:
    org_id = await new_org(admin)
    holder, _ = await new_key(admin, org_id)
    low, _ = await new_key(admin, org_id, queue_priority=0)
    high_org = await new_org(admin, queue_priority=9)  # the priority comes from the org
    high, _ = await new_key(admin, high_org)
    held = await hold(stack, holder)
    first = asyncio.create_task(ask(stack, low, text="low"))
    await until(lambda: _is(stack.depth(), 1), "the low-priority request is queued")
    second = asyncio.create_task(ask(stack, high, text="high"))
    await until(lambda: _is(stack.depth(), 2), "the high-priority request is queued")
    assert all(await asyncio.gather(held, first, second))
    assert upstream_texts(stack.vllm)[-3:] == ["hold", "high", "low"]


async def test_a_patched_wait_reaches_the_router_within_a_second(
    stack: Stack, admin: Admin
) -> None:
    org_id = await new_org(admin)
    holder, _ = await new_key(admin, org_id)
    key, key_id = await new_key(admin, org_id, queue_wait_s=0)
    held = await hold(stack, holder, "held")
    with pytest.raises(openai.RateLimitError):
        await ask(stack, key, "held")  # cached by the router now, for 300 s
    await admin.update_key(org_id, key_id, queue_wait_s=5)
    patched = time.monotonic()
    while True:  # refused until the key.updated event lands, then queued
        sent, still_held = time.monotonic(), not held.done()
        try:
            assert await ask(stack, key, "held")
            break
        except openai.RateLimitError:
            assert time.monotonic() - patched < 1.0, "the change took over a second"
            await asyncio.sleep(0.02)
    assert sent - patched < 1.0 and still_held  # it waited in the queue for the holder
    assert await held


async def _is(depth: Any, expected: float) -> bool:
    return bool(await depth == expected)
