"""Test helpers for user-org: settings for a run, and a running app with helpers that sign
in and build orgs (the fixtures are in services/user-org/tests/userorg/conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from aistrale_common.service_state import app_state
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.rabbit import delete_queues as common_delete_queues
from aistrale_userorg.context import Context
from aistrale_userorg.settings import Settings

ADMIN_EMAIL = "root@aistrale.test"
ADMIN_PASSWORD = "root-password-123"  # noqa: S105 (test databases only)


def make_settings(infra: Infra, data_dir: Path, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "amqp_url": infra.amqp_url,
        "control_exchange": infra.name("control"),
        "usage_exchange": infra.name("usage"),
        "queue_prefix": infra.name(""),
        "jwt_secret": secrets.token_urlsafe(32),
        "service_token": secrets.token_urlsafe(32),
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        "bcrypt_rounds": 4,
        "outbox_poll_s": 0.2,
        "log_json": False,
        "log_level": "WARNING",
        # Off unless a test is about it: fewer durable queues on the shared broker.
        "last_used_consumer": False,
        **extra,
    }
    return Settings(**values)


@dataclass
class Running:
    app: FastAPI
    settings: Settings
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> Context:
        return app_state(self.app, Context)

    async def login(self, email: str, password: str) -> dict[str, Any]:
        response = await self.client.post(
            "/admin/v1/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def as_user(self, email: str, password: str) -> dict[str, str]:
        if email not in self.tokens:
            self.tokens[email] = (await self.login(email, password))["access_token"]
        return {"authorization": f"Bearer {self.tokens[email]}"}

    async def root(self) -> dict[str, str]:
        return await self.as_user(ADMIN_EMAIL, ADMIN_PASSWORD)

    def service(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.settings.service_token}"}

    async def new_org(self, name: str, **extra: Any) -> str:
        response = await self.client.post(
            "/admin/v1/orgs", json={"name": name, **extra}, headers=await self.root()
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def new_member(self, org_id: str, email: str, role: str, password: str) -> str:
        """Invites, then accepts as the invitee with `password` (theirs, or the new one)."""
        invited = await self.client.post(
            f"/admin/v1/orgs/{org_id}/members",
            json={"email": email, "role": role},
            headers=await self.root(),
        )
        assert invited.status_code == 202, invited.text
        accept = {"token": invited.json()["token"], "password": password}
        response = await self.client.post("/admin/v1/invitations/accept", json=accept)
        assert response.status_code == 200, response.text
        return str(response.json()["user_id"])

    async def new_key(
        self, org_id: str, headers: dict[str, str] | None = None, **body: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/admin/v1/orgs/{org_id}/keys",
            json={"name": "k", **body},
            headers=headers or await self.root(),
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


StartApp = Callable[..., Awaitable[Running]]


async def delete_queues(amqp_url: str, names: list[str]) -> None:
    await common_delete_queues(amqp_url, *names)


def last_used_queues(settings: Settings) -> list[str]:
    from aistrale_userorg.keys.last_used import QUEUE

    name = f"{settings.queue_prefix}{QUEUE}"
    return [name, f"{name}.dead"]
