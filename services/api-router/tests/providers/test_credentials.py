"""Which key a call uses: the org's (BYOK, from user-org's internal API, memory only) over
the platform's (`api_key_env`). The internal API is played by a local HTTP server that
speaks the contract proposed in docs/providers.md; user-org is cut with a TcpProxy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp import web

from aistrale_common.errors import UpstreamFailed
from aistrale_common.testing.tcp_proxy import TcpProxy
from aistrale_router.providers.credentials import (
    CredentialResolver,
    HttpOrgCredentials,
    platform_keys,
)

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


def _user_org(calls: list[str], keys: dict[tuple[str, str], str]) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        calls.append(request.path)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": {"message": "no"}}, status=401)
        key = keys.get((request.match_info["org"], request.match_info["provider"]))
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
            with pytest.raises(UpstreamFailed):
                await short.get("org2", "gemini")  # nothing to fall back on
    finally:
        proxy.stop()


async def test_http_source_refuses_unexpected_answers(serve: Serve) -> None:
    base = await serve(_user_org([], {}))
    async with httpx.AsyncClient(timeout=2) as client:
        source = HttpOrgCredentials(client, base, "wrong-token")
        with pytest.raises(UpstreamFailed, match="401"):
            await source.get("org1", "gemini")
