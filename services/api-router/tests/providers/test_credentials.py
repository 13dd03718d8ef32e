"""Which key a call uses: the org's (BYOK, from user-org's internal API, memory only) over
the platform's (`api_key_env`). The internal API is played by a local HTTP server that
speaks the contract proposed in docs/providers.md; user-org is cut with a TcpProxy."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from aiohttp import web

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.events.schemas import ControlEvent
from aistrale_router.catalog.schema import Deployment
from aistrale_router.catalog.store import CatalogStore
from aistrale_router.keys.cache import KeyCache
from aistrale_router.keys.control import apply_control_event
from aistrale_router.keys.record import KeyRecord
from aistrale_router.providers import default_registry
from aistrale_router.providers.credentials import (
    CredentialResolver,
    HttpOrgCredentials,
    platform_keys,
)
from aistrale_router.providers.plan_keys import UpstreamKeys
from aistrale_testkit.tcp_proxy import TcpProxy

TOKEN = "service-token-for-tests"
Serve = Callable[[web.Application], Awaitable[str]]


class DictSource:
    def __init__(self, keys: dict[tuple[str, str], str]) -> None:
        self.keys = keys

    async def get(self, org_id: str, provider: str) -> str | None:
        return self.keys.get((org_id, provider))


def test_platform_keys_read_only_the_named_variables() -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant-1", "EMPTY": "", "OTHER": "x"}
    names = ["ANTHROPIC_API_KEY", "EMPTY", "MISSING", None]
    assert platform_keys(names, environ) == {"ANTHROPIC_API_KEY": "sk-ant-1"}


async def test_org_key_wins_then_platform_then_none() -> None:
    source = DictSource({("org1", "anthropic"): "sk-ant-org1"})
    resolver = CredentialResolver({"ANTHROPIC_API_KEY": "sk-ant-platform"}, source)
    org = await resolver.resolve("org1", "anthropic", "ANTHROPIC_API_KEY")
    assert (org.api_key, org.origin) == ("sk-ant-org1", "org")
    other = await resolver.resolve("org2", "anthropic", "ANTHROPIC_API_KEY")
    assert (other.api_key, other.origin) == ("sk-ant-platform", "platform")
    none = await resolver.resolve("org2", "gemini", "GEMINI_API_KEY")
    assert (none.api_key, none.origin) == (None, "none")
    assert "sk-ant" not in repr(org) + repr(other)


def _user_org(
    calls: list[str], keys: dict[tuple[str, str], str], gate: asyncio.Event | None = None
) -> web.Application:
    """user-org's internal credential lookup; with a gate, it answers what it read before
    the gate opened."""

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.path)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": {"message": "no"}}, status=401)
        key = keys.get((request.match_info["org"], request.match_info["provider"]))
        if gate is not None:
            await gate.wait()
        if key is None:
            return web.json_response({"error": {"message": "none stored"}}, status=404)
        return web.json_response({"api_key": key, "provider": request.match_info["provider"]})

    app = web.Application()
    app.router.add_get("/internal/v1/orgs/{org}/provider-credentials/{provider}", handler)
    return app


async def test_http_source_caches_invalidates_and_survives_an_outage(serve: Serve) -> None:
    calls: list[str] = []
    keys = {("org1", "gemini"): "AIza-org1"}
    base = urlsplit(await serve(_user_org(calls, keys)))
    proxy = TcpProxy("127.0.0.1", base.port or 0).start()
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            source = HttpOrgCredentials(client, f"http://127.0.0.1:{proxy.port}", TOKEN, 60)
            assert await source.get("org1", "gemini") == "AIza-org1"
            assert await source.get("org1", "gemini") == "AIza-org1"
            assert await source.get("org1", "anthropic") is None  # negative answers cache too
            assert await source.get("org1", "anthropic") is None
            assert len(calls) == 2
            keys[("org1", "gemini")] = "AIza-org1-rotated"
            source.invalidate("org1")  # what a credential control event triggers
            assert await source.get("org1", "gemini") == "AIza-org1-rotated"
            short = HttpOrgCredentials(client, f"http://127.0.0.1:{proxy.port}", TOKEN, 0.05)
            assert await short.get("org1", "gemini") == "AIza-org1-rotated"
            proxy.cut()
            await asyncio.sleep(0.1)  # the entry is stale: the next get must ask user-org
            asked = len(calls)
            assert await short.get("org1", "gemini") == "AIza-org1-rotated"  # last answer
            assert len(calls) == asked  # user-org was unreachable, so this was the stale entry
            with pytest.raises(ServiceUnavailable):
                await short.get("org2", "gemini")  # nothing to fall back on
    finally:
        proxy.stop()


async def test_http_source_refuses_unexpected_answers(serve: Serve) -> None:
    base = await serve(_user_org([], {}))
    async with httpx.AsyncClient(timeout=2) as client:
        source = HttpOrgCredentials(client, base, "wrong-token")
        with pytest.raises(ServiceUnavailable, match="could not be looked up") as refused:
            await source.get("org1", "gemini")
    # The client reads a fixed phrase; why user-org refused stays with the router (its logs).
    assert "401" not in refused.value.message and "401" in str(refused.value.__cause__)


async def test_concurrent_misses_share_one_lookup(serve: Serve) -> None:
    calls: list[str] = []
    gate = asyncio.Event()
    base = await serve(_user_org(calls, {("org1", "groq"): "gsk-org1"}, gate))
    async with httpx.AsyncClient(timeout=5) as client:
        source = HttpOrgCredentials(client, base, TOKEN, 60)
        waiting = [asyncio.create_task(source.get("org1", "groq")) for _ in range(20)]
        await asyncio.sleep(0.2)
        gate.set()
        assert await asyncio.gather(*waiting) == ["gsk-org1"] * 20
        assert len(calls) == 1


async def test_a_lookup_racing_an_invalidation_is_not_cached(serve: Serve) -> None:
    calls: list[str] = []
    gate = asyncio.Event()
    keys = {("org1", "openai"): "sk-old"}
    base = await serve(_user_org(calls, keys, gate))
    async with httpx.AsyncClient(timeout=5) as client:
        source = HttpOrgCredentials(client, base, TOKEN, 60)
        under_way = asyncio.create_task(source.get("org1", "openai"))
        await asyncio.sleep(0.2)  # user-org is answering the old key...
        keys[("org1", "openai")] = "sk-new"
        source.invalidate("org1")  # ...when the credential.updated event lands
        gate.set()
        assert await under_way == "sk-old"
        assert await source.get("org1", "openai") == "sk-new"  # asked again, not cached
        assert len(calls) == 2


class FlakySource:
    """An org source that is down for the orgs in `down`."""

    def __init__(self, keys: dict[tuple[str, str], str], down: set[str]) -> None:
        self.keys = keys
        self.down = down
        self.asked: list[tuple[str, str]] = []

    async def get(self, org_id: str, provider: str) -> str | None:
        self.asked.append((org_id, provider))
        if org_id in self.down:
            raise ServiceUnavailable("user-org is down", code="credentials_unavailable")
        return self.keys.get((org_id, provider))


def _deployment(provider: str, env: str | None, name: str) -> Deployment:
    return Deployment.model_validate(
        {
            "provider": provider,
            "base_url": "http://x/v1",
            "model": "m",
            "api_key_env": env,
            "name": name,
        }
    )


PLAN = [
    _deployment("vllm", None, "pool"),
    _deployment("openai-compatible", "SELF_HOSTED_KEY", "self"),
    _deployment("anthropic", "ANTHROPIC_API_KEY", "claude-1"),
    _deployment("anthropic", "ANTHROPIC_API_KEY", "claude-2"),
    _deployment("gemini", "GEMINI_API_KEY", "gemini"),
]
PLATFORM = {"SELF_HOSTED_KEY": "self-key", "ANTHROPIC_API_KEY": "ant-platform"}


async def test_plan_keys_org_first_and_only_for_byok_providers() -> None:
    source = FlakySource({("org1", "anthropic"): "ant-org1"}, down=set())
    keys = UpstreamKeys(CredentialResolver(PLATFORM, source), default_registry().adapters)
    planned = await keys.for_plan("org1", PLAN)
    assert [planned.key_for(d) for d in PLAN] == [None, "self-key", "ant-org1", "ant-org1", None]
    assert sorted(source.asked) == [("org1", "anthropic"), ("org1", "gemini")]  # once each
    other = await keys.for_plan("org2", PLAN)
    assert [other.key_for(d) for d in PLAN] == [
        None,
        "self-key",
        "ant-platform",
        "ant-platform",
        None,
    ]
    assert "ant-" not in repr(planned) + repr(other)
    source.asked.clear()
    await keys.for_plan("org1", PLAN[:2])
    assert source.asked == []  # vLLM and openai-compatible: no lookup at all


async def test_plan_keys_refuse_byok_deployments_when_the_lookup_failed() -> None:
    source = FlakySource({("org1", "anthropic"): "ant-org1"}, down={"org1"})
    keys = UpstreamKeys(CredentialResolver(PLATFORM, source), default_registry().adapters)
    planned = await keys.for_plan("org1", PLAN)
    assert [planned.key_for(d) for d in PLAN[:2]] == [None, "self-key"]  # still served
    for deployment in PLAN[2:]:
        with pytest.raises(ServiceUnavailable) as refused:
            planned.key_for(deployment)  # never the platform key instead
        assert refused.value.status == 503
        assert refused.value.instance_code == "credentials_unavailable"


def test_credential_events_drop_credentials_not_keys() -> None:
    cache = KeyCache(ttl_s=60, negative_ttl_s=5, grace_s=60, max_size=10)
    cache.put("h1", KeyRecord(key_id="k1", org_id="org1", status="active"))
    dropped: list[str | None] = []
    event = ControlEvent(type="credential.updated", org_id="org1", provider="openai")
    assert apply_control_event(cache, event, dropped.append) == 0
    assert cache.fresh("h1") is not None and dropped == ["org1"]
    apply_control_event(cache, ControlEvent(type="org.updated", org_id="org1"), dropped.append)
    assert cache.fresh("h1") is None and dropped == ["org1", "org1"]
    apply_control_event(cache, ControlEvent(type="budget.updated", org_id="org1"), dropped.append)
    assert dropped == ["org1", "org1"]


def test_the_catalog_store_reads_the_named_platform_keys_on_every_load(tmp_path: Path) -> None:
    environ = {"FIRST_KEY": "k1", "SECOND_KEY": "k2", "UNNAMED": "never-read"}

    def write(env: str) -> None:
        deployment = {"provider": "openai", "base_url": "http://x/v1", "model": "m"}
        models = [{"name": "m", "deployments": [{**deployment, "api_key_env": env}]}]
        (tmp_path / "models.yaml").write_text(yaml.safe_dump({"models": models}))

    write("FIRST_KEY")
    store = CatalogStore(tmp_path / "models.yaml", environ)
    held = store.platform_keys  # what CredentialResolver holds
    assert held == {"FIRST_KEY": "k1"}
    write("SECOND_KEY")
    os.utime(tmp_path / "models.yaml", ns=(1, 1))  # a different stamp, whatever the clock
    assert store.reload_if_changed()
    assert held == {"SECOND_KEY": "k2"} and store.platform_keys is held
    deployment = store.catalog.models[0].deployments[0]
    assert store.platform_key(deployment) == "k2"
