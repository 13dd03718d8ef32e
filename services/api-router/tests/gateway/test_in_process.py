"""create_app with injected transports, as the single-process platform runs it: user-org
through httpx.ASGITransport and upstream through an ASGI fake or a MockTransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.events import MemoryEventBus, Subscription
from aistrale_common.events.port import Message
from aistrale_common.events.usage_batch import unpack
from aistrale_common.service_state import app_state
from aistrale_router.app import create_app
from aistrale_router.keys.record import KeyRecord
from aistrale_router.migrate import migrate_async
from aistrale_router.settings import Settings
from aistrale_router.state import RouterState
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import REPLY, FakeVllm
from aistrale_testkit.router.harness import catalog_for

AUTH = {"authorization": "Bearer sk-in-process"}
CHAT = {"model": "chat-model", "messages": [{"role": "user", "content": "hi"}]}


@asynccontextmanager
async def running(
    tmp_path: Path,
    upstream: httpx.AsyncBaseTransport,
    events: list[dict[str, Any]],
    **overrides: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump(catalog_for("http://vllm.test")))
    settings = Settings(data_dir=tmp_path, models_file=models, service_token="t" * 20, **overrides)
    await migrate_async(settings)
    userorg = FakeUserOrg(service_token="t" * 20)
    userorg.add_key("sk-in-process", KeyRecord(key_id="k", org_id="o", status="active"))
    bus = MemoryEventBus()

    async def collect(message: Message) -> None:
        events.extend(unpack(message))

    await bus.subscribe(Subscription(settings.usage_exchange, ("usage.v1.#",)), collect)
    app = create_app(
        settings,
        bus=bus,
        userorg_transport=httpx.ASGITransport(userorg.app),
        upstream_transport=upstream,
    )
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
                yield client
    finally:
        await bus.close()


async def test_the_app_runs_on_injected_transports(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    async with running(tmp_path, httpx.ASGITransport(FakeVllm().app), events) as client:
        answer = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == REPLY
        streamed = await client.post(
            "/v1/chat/completions", json={**CHAT, "stream": True}, headers=AUTH
        )
        assert streamed.headers["content-type"].startswith("text/event-stream")
        assert b'"usage"' not in streamed.content
        assert streamed.content.endswith(b"data: [DONE]\n\n")
        assert (await client.get("/v1/models")).status_code == 401
    assert [(e["org_id"], e["status"], e["stream"]) for e in events] == [
        ("o", 200, False),
        ("o", 200, True),
    ]
    assert events[1]["completion_tokens"] == len(REPLY.split(" "))


async def test_a_json_answer_to_a_streamed_request_is_502_and_metered(tmp_path: Path) -> None:
    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": []})
        return httpx.Response(200, json={"choices": []})  # not an event stream

    events: list[dict[str, Any]] = []
    async with running(tmp_path, httpx.MockTransport(upstream), events) as client:
        answer = await client.post(
            "/v1/chat/completions", json={**CHAT, "stream": True}, headers=AUTH
        )
        assert answer.status_code == 502
        assert answer.json()["error"]["code"] == "upstream_error"
    assert [(e["status"], e["error_type"]) for e in events] == [(502, "upstream_error")]


async def test_a_body_past_the_limit_is_413_in_openai_shape(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    upstream = httpx.ASGITransport(FakeVllm().app)
    async with running(tmp_path, upstream, events, max_request_bytes=1000) as client:
        big = {**CHAT, "messages": [{"role": "user", "content": "x" * 2000}]}
        response = await client.post("/v1/chat/completions", json=big, headers=AUTH)
        fits = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.headers["x-request-id"]
    assert fits.status_code == 200


async def test_a_body_past_the_limit_is_413_in_each_protocols_shape(tmp_path: Path) -> None:
    upstream = httpx.ASGITransport(FakeVllm().app)
    big = {**CHAT, "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 2000}]}
    async with running(tmp_path, upstream, [], max_request_bytes=1000) as client:
        messages = await client.post("/v1/messages", json=big, headers=AUTH)
        responses = await client.post("/v1/responses", json={**CHAT, "input": "x" * 2000},
                                      headers=AUTH)  # fmt: skip
    assert messages.status_code == responses.status_code == 413
    assert messages.json() == {
        "type": "error",
        "error": {"type": "request_too_large", "message": "Request body larger than 1000 bytes."},
    }
    assert responses.json()["error"]["code"] == "request_too_large"


async def test_other_methods_on_hot_routes_are_405(tmp_path: Path) -> None:
    upstream = httpx.ASGITransport(FakeVllm().app)
    async with running(tmp_path, upstream, []) as client:
        response = await client.get("/v1/chat/completions", headers=AUTH)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_an_unexpected_failure_is_a_500_in_openai_shape(tmp_path: Path) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug, not an upstream failure")

    async with running(tmp_path, httpx.MockTransport(explode), []) as client:
        response = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    assert response.status_code == 500
    assert response.json()["error"] == {
        "message": "Internal server error",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }
    assert response.headers["x-request-id"]


async def test_an_unreachable_upstream_is_a_503_with_a_plain_message(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with running(tmp_path, httpx.MockTransport(refuse), []) as client:
        response = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["message"] == "The model's server could not be reached."
    assert error["code"] == "service_unavailable"


async def test_the_lifespan_opens_the_state_the_gatekeeper_included(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump(catalog_for("http://vllm.test")))
    settings = Settings(data_dir=tmp_path, models_file=models, service_token="t" * 20)
    await migrate_async(settings)
    bus = MemoryEventBus()
    app = create_app(settings, bus=bus, upstream_transport=httpx.ASGITransport(FakeVllm().app))
    try:
        with pytest.raises(ServiceUnavailable):
            app_state(app, RouterState)
        async with LifespanManager(app):
            state = app_state(app, RouterState)
            assert set(state.checks()) == {"database", "event_bus", "limits"}
            assert state.gateway.gatekeeper is state.gatekeeper
        with pytest.raises(ServiceUnavailable):
            app_state(app, RouterState)
    finally:
        await bus.close()
