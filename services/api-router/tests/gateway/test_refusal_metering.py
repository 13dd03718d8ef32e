"""Which refusals are usage events (docs/decisions/router-refusal-metering.md), path by
path, through a real router process: every request whose key is authenticated gets exactly
one event with its status, whatever refuses it; one refused before its key is known gets
none, and is counted in `requests_total` all the same. Every event fits the schema's limits,
whatever the client sent."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from aistrale_common.events.schemas import TEXT_LIMITS, UsageEventV1
from aistrale_router.app import create_app
from aistrale_router.keys.record import KeyRecord
from aistrale_router.settings import Settings
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import (
    KEY_MODELS,
    UsageEvents,
    catalog_for,
    router_process,
)
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import TcpProxy

CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "refuse me"}]
MAX_BODY = 65_536


@dataclass
class Stack:
    url: str
    userorg: FakeUserOrg
    userorg_proxy: TcpProxy
    redis_proxy: TcpProxy
    usage: UsageEvents

    def key(self, **fields: Any) -> str:
        token = "sk-test-" + secrets.token_hex(16)
        record = {
            "key_id": "key_" + secrets.token_hex(4),
            "org_id": "org_" + secrets.token_hex(4),
            "status": "active",
            "allowed_models": KEY_MODELS,
            **fields,
        }
        self.userorg.add_key(token, KeyRecord.model_validate(record))
        return token


@pytest.fixture(scope="module")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, usage_events: UsageEvents
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("refusals")
    vllm = FakeVllm()
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    redis = urlsplit(infra.redis_url)
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        userorg_proxy = TcpProxy("127.0.0.1", int(userorg_url.rsplit(":", 1)[1])).start()
        redis_proxy = TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379).start()
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        env = {
            "AISTRALE_MAX_REQUEST_BYTES": str(MAX_BODY),
            "AISTRALE_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
            "AISTRALE_BUDGET_REDIS_RETRY_S": "0.5",
        }
        userorg_via_proxy = f"http://127.0.0.1:{userorg_proxy.port}"
        try:
            with router_process(
                infra, tmp, userorg_via_proxy, userorg.service_token, models, env
            ) as url:
                yield Stack(url, userorg, userorg_proxy, redis_proxy, usage_events)
        finally:
            userorg_proxy.stop()
            redis_proxy.stop()


async def post(
    stack: Stack, key: str | None, body: bytes | dict[str, Any], rid: str
) -> httpx.Response:
    headers = {"x-request-id": rid, "content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    async with httpx.AsyncClient(base_url=stack.url, timeout=20) as client:
        return await client.post(CHAT, content=content, headers=headers)


async def scrape(url: str) -> dict[tuple[str, str], float]:
    """requests_total by (status, model) on the chat route."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    return {
        (s.labels["status"], s.labels["model"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "aistrale_api_router_requests_total" and s.labels["route"] == CHAT
    }


async def no_event_for(stack: Stack, key: str, *request_ids: str) -> None:
    """Events are published in order: once a later request's event is in, an earlier one
    would be too."""
    marker = "marker-" + secrets.token_hex(6)
    answer = await post(stack, key, {"model": "chat-model", "messages": MESSAGES}, marker)
    assert answer.status_code == 200, answer.text
    await stack.usage.wait_for(marker)
    assert not [e for e in stack.usage.events if e.request_id in request_ids]


def rid(name: str) -> str:
    return f"{name}-{secrets.token_hex(6)}"


async def test_refused_after_the_key_is_known_means_one_event_each(stack: Stack) -> None:
    key = stack.key()
    cases: list[tuple[str, bytes | dict[str, Any], int, str, str]] = [
        # name, body, status, error_type, model in the event
        ("not-json", b'{"model": "chat-model", "messages": [', 400, "invalid_request_error", ""),
        ("no-messages", {"model": "chat-model"}, 400, "invalid_request_error", "chat-model"),
        ("bad-stream", {"model": "chat-model", "messages": MESSAGES, "stream": "yes"}, 400,
         "invalid_request_error", "chat-model"),
        ("no-model", {"model": "nope", "messages": MESSAGES}, 404, "model_not_found", "nope"),
        ("forbidden", {"model": "secret-model", "messages": MESSAGES}, 403, "model_not_allowed",
         "secret-model"),
    ]  # fmt: skip
    before = await scrape(stack.url)
    for name, body, status, error_type, model in cases:
        request_id = rid(name)
        answer = await post(stack, key, body, request_id)
        assert answer.status_code == status, (name, answer.text)
        event = await stack.usage.wait_for(request_id)
        assert (event.status, event.error_type, event.model) == (status, error_type, model)
        assert (event.prompt_tokens, event.completion_tokens, event.cost_micro_usd) == (0, 0, 0)
    after = await scrape(stack.url)
    moved = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert moved == {
        ("400", "unknown"): 1,  # not JSON: no model to name
        ("400", "chat-model"): 2,
        ("404", "unknown"): 1,  # not in the catalog: never the client's string
        ("403", "secret-model"): 1,
    }


async def test_refused_before_the_key_is_known_means_no_event_but_a_count(stack: Stack) -> None:
    key = stack.key()
    before = await scrape(stack.url)
    unknown = rid("unknown-key")
    assert (await post(stack, "sk-nobody", {"model": "chat-model"}, unknown)).status_code == 401
    no_key = rid("no-key")
    assert (await post(stack, None, {"model": "chat-model"}, no_key)).status_code == 401
    too_large = rid("too-large")
    huge = {"model": "chat-model", "messages": [{"role": "user", "content": "x" * MAX_BODY}]}
    answer = await post(stack, key, huge, too_large)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "request_too_large"

    stack.userorg_proxy.cut()  # user-org away: a key never seen cannot be checked
    try:
        away = rid("userorg-away")
        answer = await post(stack, stack.key(), {"model": "chat-model", "messages": MESSAGES}, away)
        assert answer.status_code == 503, answer.text
    finally:
        stack.userorg_proxy.restore()
    await no_event_for(stack, key, unknown, no_key, too_large, away)
    after = await scrape(stack.url)
    for status, count in (("401", 2), ("413", 1), ("503", 1)):
        assert after.get((status, "unknown"), 0) - before.get((status, "unknown"), 0) == count


async def test_user_org_away_after_the_key_is_known_means_an_event(stack: Stack) -> None:
    key = stack.key()
    warm = rid("warm")
    assert (
        await post(stack, key, {"model": "chat-model", "messages": MESSAGES}, warm)
    ).status_code == 200  # the key is cached now
    stack.userorg_proxy.cut()
    try:
        byok = rid("byok")
        answer = await post(stack, key, {"model": "adapted-model", "messages": MESSAGES}, byok)
    finally:
        stack.userorg_proxy.restore()
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "credentials_unavailable"
    assert error["message"] == (
        "The organization's provider credentials could not be looked up; retry shortly."
    )
    event = await stack.usage.wait_for(byok)
    assert (event.status, event.error_type) == (503, "credentials_unavailable")


async def test_limits_unavailable_means_an_event_on_the_plain_and_the_lease_path(
    stack: Stack,
) -> None:
    # Too small a limit to lease (decided request by request), and one leased at once.
    plain, leased = stack.key(rpm_limit=10), stack.key(rpm_limit=1_000_000)
    for key in (plain, leased):
        warm = rid("warm")
        answer = await post(stack, key, {"model": "chat-model", "messages": MESSAGES}, warm)
        assert answer.status_code == 200, answer.text
    stack.redis_proxy.cut()
    try:
        refused = {}
        for name, key in (("plain", plain), ("leased", leased)):
            for attempt in range(3):
                request_id = rid(f"{name}-{attempt}")
                body = {"model": "chat-model", "messages": MESSAGES, "max_tokens": 8}
                answer = await post(stack, key, body, request_id)
                refused[request_id] = answer.status_code
    finally:
        stack.redis_proxy.restore()
    for request_id, status in refused.items():
        event = await stack.usage.wait_for(request_id)
        assert event.status == status, (request_id, event)
        if status == 503:
            assert event.error_type == "service_unavailable"
    # The plain path cannot decide without Redis; a lease may still pay for some.
    assert {s for r, s in refused.items() if r.startswith("plain")} == {503}
    assert set(refused.values()) <= {200, 503}


async def test_every_event_fits_the_schema_whatever_the_client_sent(stack: Stack) -> None:
    key = stack.key()
    model = "m" * 150 + "\u0000" + "é" * 150
    request_id = rid("long-model")
    answer = await post(stack, key, {"model": model, "messages": MESSAGES}, request_id)
    assert answer.status_code == 404
    event = await stack.usage.wait_for(request_id)
    assert event.model == model.replace("\u0000", "")[: TEXT_LIMITS["model"]]
    published = stack.usage.bodies[str(event.event_id)]
    assert UsageEventV1.model_validate_json(published) == event  # what analytics decodes


def test_a_request_while_the_gateway_starts_is_refused_and_counted() -> None:
    # No lifespan has run: the gateway is not there yet.
    app = create_app(Settings(environment="test"))

    async def ask() -> tuple[httpx.Response, str]:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
            answer = await client.post(CHAT, json={"model": "chat-model"})
            return answer, (await client.get("/metrics")).text

    answer, metrics = asyncio.run(ask())
    assert answer.status_code == 503
    assert answer.json()["error"]["message"] == "The gateway is starting; retry shortly."
    line = 'requests_total{model="unknown",route="/v1/chat/completions",status="503"} 1.0'
    assert "aistrale_api_router_" + line in metrics
