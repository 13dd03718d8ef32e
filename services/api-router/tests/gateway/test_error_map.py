"""One error map for every deployment: the same upstream answer gets the same error, from a
self-hosted OpenAI-format server (vllm, openai-compatible: forwarded as bytes) and from a
provider behind a translating adapter (openai here), through the whole app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager

from aistrale_common.events import MemoryEventBus, Subscription
from aistrale_common.events.port import Message
from aistrale_common.events.usage_batch import unpack
from aistrale_router.app import create_app
from aistrale_router.keys.record import KeyRecord
from aistrale_router.migrate import migrate_async
from aistrale_router.settings import Settings
from aistrale_testkit.router.fake_userorg import FakeUserOrg

AUTH = {"authorization": "Bearer sk-error-map"}
PROVIDERS = ("vllm", "openai-compatible", "openai")
CONTEXT = (
    b'{"object":"error","message":"This model\'s maximum context length is 2048 tokens. '
    b'However, you requested 4000 tokens.","type":"BadRequestError","param":null,"code":400}'
)


def _catalog() -> dict[str, Any]:
    def model(provider: str) -> dict[str, Any]:
        deployment = {"provider": provider, "base_url": f"http://{provider}.test/v1", "model": "m"}
        if provider == "openai":
            deployment["api_key_env"] = "AISTRALE_TEST_OPENAI_KEY"
        return {"name": f"via-{provider}", "deployments": [deployment]}

    return {"models": [model(p) for p in PROVIDERS]}


class Upstream:
    """Answers every chat request with the status, body and headers the test sets."""

    def __init__(self) -> None:
        self.status, self.body, self.headers = 200, b"{}", dict[str, str]()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # health probes and load scrapes
            return httpx.Response(200, json={"object": "list", "data": []})
        headers = {"content-type": "application/json", **self.headers}
        return httpx.Response(self.status, content=self.body, headers=headers)


@asynccontextmanager
async def running(
    tmp_path: Path, upstream: Upstream, events: list[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump(_catalog()))
    settings = Settings(
        data_dir=tmp_path, models_file=models, service_token="t" * 20, upstream_max_attempts=1
    )
    await migrate_async(settings)
    userorg = FakeUserOrg(service_token="t" * 20)
    userorg.add_key("sk-error-map", KeyRecord(key_id="k", org_id="o", status="active"))
    bus = MemoryEventBus()

    async def collect(message: Message) -> None:
        events.extend(unpack(message))

    await bus.subscribe(Subscription(settings.usage_exchange, ("usage.v1.#",)), collect)
    app = create_app(
        settings,
        bus=bus,
        userorg_transport=httpx.ASGITransport(userorg.app),
        upstream_transport=httpx.MockTransport(upstream),
    )
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
                yield client
    finally:
        await bus.close()


@pytest.fixture(autouse=True)
def _platform_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISTRALE_TEST_OPENAI_KEY", "sk-platform-test")


async def _ask(client: httpx.AsyncClient, provider: str, stream: bool) -> httpx.Response:
    body: dict[str, Any] = {
        "model": f"via-{provider}",
        "messages": [{"role": "user", "content": "hi"}],
    }
    if stream:
        body["stream"] = True
    return await client.post("/v1/chat/completions", json=body, headers=AUTH)


@pytest.mark.parametrize("stream", [False, True])
async def test_the_same_upstream_failure_is_the_same_error_on_every_deployment(
    tmp_path: Path, stream: bool
) -> None:
    upstream, events = Upstream(), list[dict[str, Any]]()
    seen: dict[str, list[tuple[int, str | None, str | None, str | None]]] = {}
    cases = [
        (503, b'{"error":{"message":"loading"}}', {"retry-after": "7"}),
        (503, b"<html>Service Unavailable</html>", {}),
        (504, b"<html>Gateway Timeout</html>", {}),
        (400, CONTEXT, {}),
    ]
    async with running(tmp_path, upstream, events) as client:
        for provider in PROVIDERS:
            for status, body, headers in cases:
                upstream.status, upstream.body, upstream.headers = status, body, headers
                answer = await _ask(client, provider, stream)
                error = answer.json()["error"]
                assert set(error) == {"message", "type", "param", "code"}
                seen.setdefault(provider, []).append(
                    (
                        answer.status_code,
                        error["code"],
                        answer.headers.get("retry-after"),
                        error["param"],
                    )
                )
    expected = [
        (503, "service_unavailable", "7", None),  # upstream's Retry-After passed on
        (503, "service_unavailable", "1", None),  # none given: a second
        (504, "upstream_timeout", None, None),
        (400, "context_length_exceeded", None, "messages"),
    ]
    assert seen == dict.fromkeys(PROVIDERS, expected)
    # Metered with the same outcome whichever path the deployment takes.
    outcomes = [(e["provider"], e["status"], e["error_type"]) for e in events]
    assert outcomes == [(p, status, code) for p in PROVIDERS for status, code, _, _ in expected]
