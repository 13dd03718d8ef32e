"""End to end with the real user-org process: keys created and revoked through the admin
API, looked up by the router over HTTP, revocation pushed through RabbitMQ."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.router.fake_vllm import REPLY, FakeVllm
from aistrale_testkit.router.harness import catalog_for, router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port

from .userorg_process import ADMIN, userorg_env


@pytest.fixture(scope="module")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, create_pg_database: Callable[[str], str]
) -> Iterator[tuple[str, str]]:
    """(user-org URL, router URL)."""
    tmp = tmp_path_factory.mktemp("real-userorg")
    token = secrets.token_urlsafe(32)
    port = free_port()
    env = userorg_env(infra, tmp, create_pg_database("router_e2e"), token, "router-e2e")
    argv = python_module_argv("aistrale-user-org", "serve", "--port", str(port))
    vllm = FakeVllm()
    with (
        serve_in_thread(vllm.app) as vllm_url,
        service_process(argv, port, env, log_path=tmp / "user-org.log", ready_path="/ready") as uo,
    ):
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        with router_process(infra, tmp, uo, token, models) as router:
            yield uo, router


def _admin(userorg: str) -> dict[str, str]:
    form = {"username": ADMIN[0], "password": ADMIN[1]}
    answer = httpx.post(f"{userorg}/admin/v1/auth/token", data=form, timeout=10)
    answer.raise_for_status()
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


async def test_keys_from_the_real_user_org_work_and_revocation_lands_within_a_second(
    stack: tuple[str, str], tmp_path: Path
) -> None:
    userorg, router = stack
    admin = _admin(userorg)
    org = httpx.post(f"{userorg}/admin/v1/orgs", json={"name": "e2e"}, headers=admin, timeout=10)
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    created = httpx.post(
        f"{userorg}/admin/v1/orgs/{org_id}/keys",
        json={"name": "e2e", "allowed_models": ["chat-model"]},
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    client = open_sdk(router + "/v1", key)
    answer = await client.chat.completions.create(
        model="chat-model", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == REPLY
    with pytest.raises(openai.PermissionDeniedError):
        await client.chat.completions.create(
            model="embed-model", messages=[{"role": "user", "content": "hi"}]
        )
    revoked = httpx.delete(f"{userorg}/admin/v1/orgs/{org_id}/keys/{key_id}", headers=admin)
    assert revoked.status_code in (200, 204), revoked.text
    revoked_at = time.monotonic()
    while True:
        try:
            await client.models.list()
        except openai.AuthenticationError:
            break
        assert time.monotonic() - revoked_at < 1.0, "revoked key still accepted after 1 s"
        await asyncio.sleep(0.02)
