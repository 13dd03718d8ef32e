"""The router's keys while user-org is away, on real processes: a real user-org (Postgres,
control events through RabbitMQ), stopped with SIGSTOP or cut off behind a TCP proxy, and the
router with a 1 s key TTL, so that every key here is past its TTL during the outage.

What must hold: a known key answers at once, not after the 2 s lookup timeout; user-org is
asked by one refresh at a time, not by every request; a budget change does not turn the
org's keys into 503s; a revocation still lands within a second; and once user-org is back,
changes made to a key take effect.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from aistrale_common.events import OutgoingMessage, RabbitEventBus
from aistrale_common.events.schemas import ControlEvent
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import catalog_for, router_process
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import TcpProxy, free_port

from .userorg_process import userorg_env
from .userorg_stack import Admin, UserOrgProcess, userorg_process

TTL_S = 1.0
LOOKUP_TIMEOUT_S = 2.0  # the default, kept: the cost of a stopped user-org before the fix
FAST_S = 0.5  # far below the lookup timeout, far above a request's time on this machine
ROUTER_ENV = {
    "AISTRALE_KEY_CACHE_TTL_S": str(TTL_S),
    "AISTRALE_KEY_STALE_GRACE_S": "60",
    "AISTRALE_KEY_LOOKUP_TIMEOUT_S": str(LOOKUP_TIMEOUT_S),
    "AISTRALE_KEY_REFRESH_RETRY_S": "0.2",
    "AISTRALE_KEY_REFRESH_RETRY_MAX_S": "1",
    "AISTRALE_KEY_USERORG_FAILING_S": "3",
}
CHAT = {"model": "chat-model", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Stack:
    userorg: UserOrgProcess
    proxy: TcpProxy  # between the router and user-org only: admin calls go around it
    router: str
    control_exchange: str
    router_log: Path


@pytest.fixture(scope="module")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, create_pg_database: Callable[[str], str]
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("key-outage")
    token = secrets.token_urlsafe(32)
    env = userorg_env(infra, tmp, create_pg_database("key_outage"), token, "key-outage")
    vllm = FakeVllm()
    with (
        serve_in_thread(vllm.app) as vllm_url,
        userorg_process(free_port(), env, tmp / "user-org.log") as userorg,
    ):
        proxy = TcpProxy("127.0.0.1", int(userorg.url.rsplit(":", 1)[1])).start()
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        via_proxy = f"http://127.0.0.1:{proxy.port}"
        try:
            with router_process(infra, tmp, via_proxy, token, models, ROUTER_ENV) as router:
                control = infra.name("control")
                yield Stack(userorg, proxy, router, control, tmp / "router.log")
        finally:
            proxy.stop()


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[Admin]:
    admin = Admin(stack.userorg.url)
    try:
        yield admin
    finally:
        await admin.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def chat(client: httpx.AsyncClient, stack: Stack, key: str) -> tuple[int, float]:
    """(status, seconds)."""
    started = time.monotonic()
    answer = await client.post(
        f"{stack.router}/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {key}"},
    )
    return answer.status_code, time.monotonic() - started


async def requests_for(
    client: httpx.AsyncClient, stack: Stack, key: str, seconds: float
) -> list[tuple[int, float]]:
    """Requests one after the other for `seconds`: past the lookup timeout, when it counts."""
    outcomes: list[tuple[int, float]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outcomes.append(await chat(client, stack, key))
        await asyncio.sleep(0.05)
    return outcomes


async def until_status(
    client: httpx.AsyncClient, stack: Stack, key: str, status: int, within_s: float
) -> None:
    started = time.monotonic()
    while (got := (await chat(client, stack, key))[0]) != status:
        assert time.monotonic() - started < within_s, f"still {got}, not {status}"
        await asyncio.sleep(0.05)


async def metric(stack: Stack, name: str, **labels: str) -> float:
    async with httpx.AsyncClient(timeout=10) as scraper:
        text = (await scraper.get(f"{stack.router}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == f"aistrale_api_router_{name}"
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def publish(stack: Stack, infra: Infra, **fields: Any) -> None:
    """A control event as user-org would send it (user-org itself is stopped)."""
    event = ControlEvent.model_validate(fields)
    bus = await RabbitEventBus.connect(infra.amqp_url)
    try:
        body = event.model_dump_json().encode()
        await bus.publish(stack.control_exchange, OutgoingMessage(event.routing_key(), body))
    finally:
        await bus.close()


async def changed_serves(stack: Stack) -> float:
    """Requests served from an answer a control event had marked changed."""
    failed = await metric(stack, "key_stale_served_total", reason="lookup_failed")
    return failed + await metric(stack, "key_stale_served_total", reason="changed")


def slow(outcomes: list[tuple[int, float]]) -> list[float]:
    return [round(seconds, 2) for _, seconds in outcomes if seconds >= FAST_S]


async def test_a_stopped_user_org_costs_known_keys_nothing_and_changes_land_after_sigcont(
    stack: Stack, admin: Admin, client: httpx.AsyncClient, infra: Infra
) -> None:
    org = await admin.new_org("stopped-" + secrets.token_hex(3))
    key, key_id = await admin.new_key(org)
    other, other_id = await admin.new_key(org)
    assert (await chat(client, stack, key))[0] == 200
    assert (await chat(client, stack, other))[0] == 200
    stack.userorg.stop()
    try:
        await asyncio.sleep(TTL_S + 0.2)
        outcomes = await requests_for(client, stack, key, 2 * LOOKUP_TIMEOUT_S + 0.5)
        assert {status for status, _ in outcomes} == {200}
        assert slow(outcomes) == [], "a request waited for the stopped user-org"
        # A budget change announced while user-org is stopped: the org's keys go on.
        await publish(stack, infra, type="budget.updated", org_id=org)
        changed = await requests_for(client, stack, other, LOOKUP_TIMEOUT_S + 1)
        assert {status for status, _ in changed} == {200}
        # At most the first request after the event asks user-org; it then falls back.
        assert len(slow(changed)) <= 1 and max(s for _, s in changed) < LOOKUP_TIMEOUT_S + 1.5
    finally:
        stack.userorg.cont()
    logged = stack.router_log.read_text()
    assert any("key_served_stale" in line and key_id in line for line in logged.splitlines()), (
        "serving stale was not logged with the key id"
    )
    assert key not in logged and other not in logged  # never a raw key
    await admin.update_key(org, key_id, allowed_models=["embed-model"])
    await until_status(client, stack, key, 403, within_s=5)  # the change took effect
    await admin.revoke(org, other_id)
    await until_status(client, stack, other, 401, within_s=1)


async def test_refused_connections_one_refresh_at_a_time_and_revocation_still_lands(
    stack: Stack, admin: Admin, client: httpx.AsyncClient
) -> None:
    org = await admin.new_org("refused-" + secrets.token_hex(3))
    key, _ = await admin.new_key(org)
    doomed, doomed_id = await admin.new_key(org)
    assert (await chat(client, stack, key))[0] == 200
    assert (await chat(client, stack, doomed))[0] == 200
    refreshes = await metric(stack, "key_refreshes_total")
    stale = await metric(stack, "key_stale_served_total", reason="expired")
    stack.proxy.cut()
    try:
        await asyncio.sleep(TTL_S + 0.2)
        outcomes = await requests_for(client, stack, key, 2.0)
        assert {status for status, _ in outcomes} == {200} and slow(outcomes) == []
        served_stale = await metric(stack, "key_stale_served_total", reason="expired") - stale
        refreshed = await metric(stack, "key_refreshes_total") - refreshes
        # Backoff 0.2 s doubling to 1 s: about four refreshes in 2 s, not one per request.
        assert served_stale >= len(outcomes) > 3 * refreshed > 0
        await admin.revoke(org, doomed_id)  # user-org works; only the router's link is cut
        await until_status(client, stack, doomed, 401, within_s=1)  # not 503: it is revoked
    finally:
        stack.proxy.restore()
    assert (await chat(client, stack, key))[0] == 200


async def test_a_budget_change_during_a_cut_keeps_the_org_working_and_applies_after(
    stack: Stack, admin: Admin, client: httpx.AsyncClient
) -> None:
    org = await admin.new_org("budget-" + secrets.token_hex(3))
    keys = [(await admin.new_key(org))[0] for _ in range(2)]
    for key in keys:
        assert (await chat(client, stack, key))[0] == 200
    before = await changed_serves(stack)
    stack.proxy.cut()
    try:
        await admin.set_budget(org, 1)  # 1 µUSD: not one request's worth
        seen = time.monotonic() + 5
        while await changed_serves(stack) == before:
            assert (await chat(client, stack, keys[0]))[0] == 200
            assert time.monotonic() < seen, "the router never saw budget.updated"
        for key in keys:  # the org's keys keep working for the rest of the outage
            outcomes = await requests_for(client, stack, key, 1.5)
            assert {status for status, _ in outcomes} == {200} and slow(outcomes) == []
    finally:
        stack.proxy.restore()
    for key in keys:  # user-org answers again: the new budget applies
        await until_status(client, stack, key, 429, within_s=5)
