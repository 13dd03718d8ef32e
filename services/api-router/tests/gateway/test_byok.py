"""Bring your own key, end to end: a real user-org process stores an org's provider key,
the router (a real process) calls the provider with it — the platform key for other orgs —
picks up a changed key within a second through the control event, and answers 503 rather
than use the platform key when user-org cannot say which key an org has."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import yaml

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import router_process
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import TcpProxy, free_port

from .userorg_process import ADMIN, userorg_env

PLATFORM_KEY = "sk-platform-" + secrets.token_hex(12)
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Stack:
    userorg: str
    router: str
    provider: FakeVllm  # plays OpenAI (the `openai` adapter) and a vLLM pool
    userorg_proxy: TcpProxy  # between the router and user-org
    admin: dict[str, str]


@pytest.fixture(scope="module")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, create_pg_database: Callable[[str], str]
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("byok")
    token = secrets.token_urlsafe(32)
    port = free_port()
    env = {
        **userorg_env(infra, tmp, create_pg_database("router_byok"), token, "router-byok"),
        "AISTRALE_LAST_USED_CONSUMER": "false",
    }
    argv = python_module_argv("aistrale-user-org", "serve", "--port", str(port))
    provider = FakeVllm()
    with (
        serve_in_thread(provider.app) as provider_url,
        service_process(argv, port, env, log_path=tmp / "user-org.log", ready_path="/ready") as uo,
    ):
        proxy = TcpProxy("127.0.0.1", port).start()
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(provider_url)))
        keys = {"AISTRALE_TEST_OPENAI_KEY": PLATFORM_KEY}
        try:
            with router_process(
                infra, tmp, f"http://127.0.0.1:{proxy.port}", token, models, keys
            ) as r:
                yield Stack(uo, r, provider, proxy, _admin(uo))
        finally:
            proxy.stop()


def _catalog(provider_url: str) -> dict[str, object]:
    pricing = {"input_micro_usd_per_mtok": 0, "output_micro_usd_per_mtok": 0}
    openai = {
        "provider": "openai",
        "base_url": f"{provider_url}/v1",
        "model": "fake-chat",
        "api_key_env": "AISTRALE_TEST_OPENAI_KEY",
    }
    pool = {"provider": "vllm", "base_url": f"{provider_url}/v1", "model": "fake-chat"}
    return {
        "models": [
            {"name": "byok-model", "deployments": [openai], "pricing": pricing},
            {"name": "pool-model", "deployments": [pool], "pricing": pricing},
        ]
    }


def _admin(userorg: str) -> dict[str, str]:
    form = {"username": ADMIN[0], "password": ADMIN[1]}
    answer = httpx.post(f"{userorg}/admin/v1/auth/token", data=form, timeout=10)
    answer.raise_for_status()
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def new_org(s: Stack, name: str) -> tuple[str, str]:
    """(org id, an API key of the org)."""
    org = httpx.post(f"{s.userorg}/admin/v1/orgs", json={"name": name}, headers=s.admin)
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    key = httpx.post(
        f"{s.userorg}/admin/v1/orgs/{org_id}/keys", json={"name": "k"}, headers=s.admin
    )
    assert key.status_code == 201, key.text
    return org_id, key.json()["key"]


def set_credential(s: Stack, org_id: str, api_key: str | None) -> None:
    url = f"{s.userorg}/admin/v1/orgs/{org_id}/provider-credentials/openai"
    if api_key is None:
        assert httpx.delete(url, headers=s.admin).status_code == 204
    else:
        answer = httpx.put(url, json={"api_key": api_key}, headers=s.admin)
        assert answer.status_code in (200, 201), answer.text


async def call(s: Stack, api_key: str, model: str = "byok-model") -> tuple[httpx.Response, str]:
    """The router's answer, and the authorization the provider saw (or "" if not called)."""
    seen = len(s.provider.log.headers)
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            f"{s.router}/v1/chat/completions",
            json={"model": model, **CHAT},
            headers={"authorization": f"Bearer {api_key}"},
        )
    sent = s.provider.log.headers[seen:]
    return answer, (sent[-1].get("authorization", "") if sent else "")


async def test_org_key_wins_and_a_change_lands_within_a_second(stack: Stack) -> None:
    byok_org, byok_client = new_org(stack, "byok-org")
    _, plain_client = new_org(stack, "plain-org")
    first = "sk-org-first-" + secrets.token_hex(8)
    set_credential(stack, byok_org, first)

    answer, sent = await call(stack, byok_client)
    assert answer.status_code == 200, answer.text
    assert sent == f"Bearer {first}"
    answer, sent = await call(stack, plain_client)
    assert answer.status_code == 200 and sent == f"Bearer {PLATFORM_KEY}"
    answer, sent = await call(stack, byok_client, "pool-model")  # vLLM: no org key
    assert answer.status_code == 200 and sent == ""

    second = "sk-org-second-" + secrets.token_hex(8)
    for replacement, expected in ((second, second), (None, PLATFORM_KEY)):
        set_credential(stack, byok_org, replacement)
        changed_at = time.monotonic()
        while True:
            answer, sent = await call(stack, byok_client)
            assert answer.status_code == 200, answer.text
            if sent == f"Bearer {expected}":
                break
            assert time.monotonic() - changed_at < 1.0, f"still {sent[:20]}… after 1 s"
            await asyncio.sleep(0.02)


async def test_user_org_down_is_503_never_the_platform_key(stack: Stack) -> None:
    known_org, known_client = new_org(stack, "known-org")
    _, unknown_client = new_org(stack, "unknown-org")
    known_key = "sk-org-known-" + secrets.token_hex(8)
    set_credential(stack, known_org, known_key)
    # Both API keys get cached by the router; only known-org's provider key does.
    assert (await call(stack, known_client))[1] == f"Bearer {known_key}"
    assert (await call(stack, unknown_client, "pool-model"))[0].status_code == 200

    stack.userorg_proxy.cut()
    try:
        answer, sent = await call(stack, unknown_client)
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["code"] == "credentials_unavailable" and error["type"] == "server_error"
        assert set(error) == {"message", "type", "param", "code"}
        assert sent == ""  # the provider was not called, with the platform key or any
        # The pool needs no org key; known-org keeps its last known key.
        assert (await call(stack, unknown_client, "pool-model"))[0].status_code == 200
        assert (await call(stack, known_client))[1] == f"Bearer {known_key}"
    finally:
        stack.userorg_proxy.restore()
    answer, sent = await call(stack, unknown_client)
    assert answer.status_code == 200 and sent == f"Bearer {PLATFORM_KEY}"
