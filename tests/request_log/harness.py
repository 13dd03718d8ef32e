"""The platform for the request-log and residency tests: user-org, api-router and analytics
as processes on Postgres, Redis and RabbitMQ (tests/soak/platform.py), in front of one fake
vLLM, with a catalog whose deployments carry regions (eu and us) and one `eu` deployment
that is down (its port has no server)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import openai
import yaml

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import ServiceProcess
from aistrale_testkit.tcp_proxy import free_port
from tests.soak.platform import Platform, Timers, platform
from tests.soak.tenants import Admin

PASSWORD = "log-member-password-1"
FREE = {"input_micro_usd_per_mtok": 0, "output_micro_usd_per_mtok": 1_000_000}


def _deployment(name: str, url: str, region: str | None) -> dict[str, Any]:
    base = {"provider": "vllm", "base_url": f"{url}/v1", "model": "fake-chat", "name": name}
    return {**base, "region": region} if region else base


def catalog(upstream: str, dead: str) -> dict[str, Any]:
    def model(name: str, *deployments: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "deployments": list(deployments), "pricing": FREE}

    return {
        "models": [
            model("plain-chat", _deployment("plain-1", upstream, None)),
            model(
                "geo-chat",
                _deployment("eu-1", upstream, "eu"),
                _deployment("us-1", upstream, "us"),
            ),
            model(
                "geo-down",
                _deployment("eu-dead", dead, "eu"),
                _deployment("us-2", upstream, "us"),
            ),
            model("us-only", _deployment("us-3", upstream, "us")),
        ]
    }


@dataclass
class Stack:
    platform: Platform
    admin: Admin
    analytics_db: str  # asyncpg DSN of analytics' database

    @property
    def userorg(self) -> str:
        return self.platform.userorg.url

    @property
    def analytics(self) -> str:
        return self.platform.analytics.url

    def client(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.platform.router.url}/v1", api_key=key, max_retries=0)

    def org(self, name: str) -> str:
        return str(self.admin.call("POST", "/admin/v1/orgs", {"name": name}).json()["id"])

    def key(self, org_id: str, **fields: Any) -> tuple[str, str]:
        """(key id, plaintext key)."""
        made = self.admin.call("POST", f"/admin/v1/orgs/{org_id}/keys", {"name": "k", **fields})
        return str(made.json()["id"]), str(made.json()["key"])

    def member(self, org_id: str, email: str, role: str) -> tuple[str, dict[str, str]]:
        """A user invited into the org with `role`: (user id, its bearer header)."""
        invited = self.admin.call(
            "POST", f"/admin/v1/orgs/{org_id}/members", {"email": email, "role": role}
        )
        accept = {"token": invited.json()["token"], "password": PASSWORD}
        added = httpx.post(f"{self.userorg}/admin/v1/invitations/accept", json=accept)
        assert added.status_code == 200, added.text
        form = {"username": email, "password": PASSWORD}
        token = httpx.post(f"{self.userorg}/admin/v1/auth/token", data=form)
        assert token.status_code == 200, token.text
        return added.json()["user_id"], {"authorization": f"Bearer {token.json()['access_token']}"}

    def platform_admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.admin.token()}"}

    def analytics_get(self, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
        return httpx.get(f"{self.analytics}{path}", headers=headers, params=params, timeout=10)

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Reads analytics' database directly (what an operator with the dump would see)."""

        async def run() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(self.analytics_db)
            try:
                return [dict(r) for r in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result()


def eventually(check: Callable[[], Any], within_s: float = 15.0) -> Any:
    """The first truthy value of `check()`; fails when none came within `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {within_s}s"
        time.sleep(0.05)


@contextlib.contextmanager
def stack(infra: Infra, workdir: Path) -> Iterator[Stack]:
    up_port = free_port()
    argv = [sys.executable, "-m", "aistrale_testkit.router.fake_vllm_server", str(up_port)]
    upstream = ServiceProcess(argv, up_port, {}, log_path=workdir / "geo-upstream.log")
    upstream.start()
    try:
        models = workdir / "geo-models.yaml"
        dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: the eu region is down
        models.write_text(yaml.safe_dump(catalog(upstream.url, dead)))
        extra = {"AISTRALE_MODELS_FILE": str(models)}
        with platform(infra, workdir / "platform", Timers(), extra) as running:
            admin = Admin(running.userorg.url, running.admin_email, running.admin_password)
            url = running.env["AISTRALE_ANALYTICS_DATABASE_URL"]
            try:
                yield Stack(running, admin, url.replace("postgresql+asyncpg://", "postgresql://"))
            finally:
                admin.close()
    finally:
        upstream.terminate()
