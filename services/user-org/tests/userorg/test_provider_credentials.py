"""Provider credentials (BYOK) through the admin and internal APIs, on Postgres: sealed at
rest, never answered, audited without the key, announced to routers, refused across orgs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from aistrale_common.events import Message, RabbitEventBus, Subscription
from aistrale_common.events.schemas import ControlEvent
from aistrale_common.providers import CATALOG_KEYED
from aistrale_router.providers import default_registry
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.userorg import Running
from aistrale_userorg.provider_credentials.schemas import PROVIDERS
from aistrale_userorg.tables import audit_log, provider_credentials

KEY = "sk-ant-api03-FIRST-key-0000000000000000000000aaaa"
NEW_KEY = "sk-ant-api03-SECOND-key-111111111111111111111bbbb"


def creds_url(org_id: str, provider: str = "") -> str:
    return f"/admin/v1/orgs/{org_id}/provider-credentials" + (f"/{provider}" if provider else "")


def internal_url(org_id: str, provider: str) -> str:
    return f"/internal/v1/orgs/{org_id}/provider-credentials/{provider}"


async def put_key(app: Running, org_id: str, provider: str, key: str, **kw: Any) -> httpx.Response:
    headers = kw.get("headers") or await app.root()
    return await app.client.put(creds_url(org_id, provider), json={"api_key": key}, headers=headers)


async def stored_rows(app: Running, org_id: str) -> list[dict[str, Any]]:
    query = sa.select(provider_credentials).where(provider_credentials.c.org_id == org_id)
    async with app.ctx.db.session() as session:
        return [dict(r) for r in (await session.execute(query)).mappings()]


async def audit_text(app: Running) -> str:
    async with app.ctx.db.session() as session:
        rows = (await session.execute(sa.select(audit_log))).mappings().all()
    return repr([dict(r) for r in rows])


def assert_error(response: httpx.Response, status: int, param: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["param"] == param
    return error


def test_providers_are_the_routers_adapters() -> None:
    # user-org does not import the router at runtime; this keeps the two lists equal. Every
    # catalog provider has an adapter; the self-hosted ones (the catalog's own key) take no
    # org credential.
    assert set(default_registry().adapters) - CATALOG_KEYED == PROVIDERS


async def test_set_list_replace_delete(pg_app: Running) -> None:
    app = pg_app
    headers = await app.root()
    org_id = await app.new_org("byok")

    created = await put_key(app, org_id, "anthropic", KEY)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["provider"] == "anthropic" and body["last4"] == "aaaa"
    assert body["org_id"] == org_id and body["created_at"] and body["rotated_at"] is None
    replaced = await put_key(app, org_id, "anthropic", NEW_KEY)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["last4"] == "bbbb"
    assert replaced.json()["created_at"] == body["created_at"]
    assert (await put_key(app, org_id, "gemini", "AIzaSy-gemini-key-cccc")).status_code == 201

    listed = await app.client.get(creds_url(org_id), headers=headers)
    assert listed.status_code == 200
    assert [(c["provider"], c["last4"]) for c in listed.json()["data"]] == [
        ("anthropic", "bbbb"),
        ("gemini", "cccc"),
    ]
    for response in (created, replaced, listed):
        assert KEY not in response.text and NEW_KEY not in response.text
        assert "sealed" not in response.text and "kek_id" not in response.text

    revealed = await app.client.get(internal_url(org_id, "anthropic"), headers=app.service())
    assert revealed.status_code == 200
    assert revealed.json() == {"provider": "anthropic", "api_key": NEW_KEY}
    assert revealed.headers["cache-control"] == "no-store"

    deleted = await app.client.delete(creds_url(org_id, "anthropic"), headers=headers)
    assert deleted.status_code == 204
    again = await app.client.delete(creds_url(org_id, "anthropic"), headers=headers)
    assert_error(again, 404, "provider")
    gone = await app.client.get(internal_url(org_id, "anthropic"), headers=app.service())
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "credential_not_found"
    listed = await app.client.get(creds_url(org_id), headers=headers)
    assert [c["provider"] for c in listed.json()["data"]] == ["gemini"]


async def test_stored_sealed_and_bound_to_its_org(pg_app: Running) -> None:
    app = pg_app
    org_id, other = await app.new_org("sealed"), await app.new_org("sealed-other")
    assert (await put_key(app, org_id, "openai", KEY)).status_code == 201
    assert (await put_key(app, other, "openai", NEW_KEY)).status_code == 201
    [row] = await stored_rows(app, org_id)
    assert KEY not in row["sealed"] and KEY[-12:] not in row["sealed"]
    assert row["sealed"].startswith(f"v1.{app.ctx.keyring.primary.id}.")
    assert row["kek_id"] == app.ctx.keyring.primary.id and row["last4"] == KEY[-4:]
    assert app.ctx.keyring.decrypt(row["sealed"], f"org:{org_id}/provider:openai") == KEY

    # A sealed value copied onto another org's row does not open there.
    async with app.ctx.db.transaction() as session:
        await session.execute(
            sa.update(provider_credentials)
            .where(provider_credentials.c.org_id == other)
            .values(sealed=row["sealed"])
        )
    copied = await app.client.get(internal_url(other, "openai"), headers=app.service())
    assert copied.status_code == 500 and copied.json()["error"]["code"] == "credential_unreadable"
    assert KEY not in copied.text


async def test_bad_provider_and_bad_key_are_400(pg_app: Running) -> None:
    app = pg_app
    org_id = await app.new_org("bad-input")
    for provider in ("vllm", "openai-compatible", "azure", "OPENAI"):
        error = assert_error(await put_key(app, org_id, provider, KEY), 400, "provider")
        assert error["type"] == "invalid_request_error" and error["code"] == "invalid_provider"
        headers = await app.root()
        assert_error(
            await app.client.delete(creds_url(org_id, provider), headers=headers), 400, "provider"
        )
    bad_keys = [
        "",
        "short",
        "has space-in-the-middle",
        "tab\tinside-key",
        "x" * 1025,
        "ключ-ключ-ключ",
    ]
    for bad in bad_keys:
        error = assert_error(await put_key(app, org_id, "groq", bad), 400, "api_key")
        assert error["code"] == "invalid_api_key_format"
        assert bad not in error["message"] or bad == ""
    assert (await put_key(app, org_id, "groq", "g" * 1024)).status_code == 201
    headers = await app.root()
    missing = await app.client.put(creds_url(org_id, "groq"), json={}, headers=headers)
    assert_error(missing, 422, "api_key")
    assert [r["provider"] for r in await stored_rows(app, org_id)] == ["groq"]


async def test_roles_and_other_orgs(pg_app: Running) -> None:
    app = pg_app
    mine, theirs = await app.new_org("roles-mine"), await app.new_org("roles-theirs")
    assert (await put_key(app, theirs, "openai", KEY)).status_code == 201
    for role in ("owner", "admin", "member", "billing", "viewer"):
        await app.new_member(mine, f"{role}@byok.test", role, "role-password-1")
    for role in ("member", "billing", "viewer"):
        headers = await app.as_user(f"{role}@byok.test", "role-password-1")
        assert (await put_key(app, mine, "openai", NEW_KEY, headers=headers)).status_code == 403
        assert (await app.client.get(creds_url(mine), headers=headers)).status_code == 403
        delete = await app.client.delete(creds_url(mine, "openai"), headers=headers)
        assert delete.status_code == 403
    for role in ("owner", "admin"):
        headers = await app.as_user(f"{role}@byok.test", "role-password-1")
        assert (await put_key(app, mine, "openai", NEW_KEY, headers=headers)).status_code in (
            200,
            201,
        )
        # Another org's credentials: 404, exactly as for an org that does not exist.
        for response in (
            await put_key(app, theirs, "openai", NEW_KEY, headers=headers),
            await app.client.get(creds_url(theirs), headers=headers),
            await app.client.delete(creds_url(theirs, "openai"), headers=headers),
            await put_key(app, "no-such-org", "openai", NEW_KEY, headers=headers),
        ):
            assert_error(response, 404, "org_id")
    revealed = await app.client.get(internal_url(theirs, "openai"), headers=app.service())
    assert revealed.json()["api_key"] == KEY  # untouched by the refused calls
    for headers in ({}, {"authorization": "Bearer wrong"}, await app.root()):
        refused = await app.client.get(internal_url(theirs, "openai"), headers=headers)
        assert_error(refused, 401, None)
        assert KEY not in refused.text
    unknown = await app.client.get(internal_url(theirs, "vllm"), headers=app.service())
    assert unknown.status_code == 404
    nobody = await app.client.get(internal_url("no-such-org", "openai"), headers=app.service())
    assert nobody.status_code == 404


async def test_audited_without_the_key(pg_app: Running) -> None:
    app = pg_app
    org_id = await app.new_org("audit-byok")
    await app.new_member(org_id, "vera@byok.test", "viewer", "viewer-password")
    viewer = await app.as_user("vera@byok.test", "viewer-password")
    await put_key(app, org_id, "huggingface", KEY)
    await put_key(app, org_id, "huggingface", NEW_KEY)
    await put_key(app, org_id, "huggingface", "refused-" + KEY, headers=viewer)
    await put_key(app, org_id, "huggingface", "bad key with spaces " + KEY)
    await app.client.delete(creds_url(org_id, "huggingface"), headers=await app.root())

    rows = (
        await app.client.get("/admin/v1/audit", params={"org_id": org_id}, headers=await app.root())
    ).json()["data"]
    seen = [(r["action"], r["outcome"], r["target"]) for r in reversed(rows)]
    assert seen[-5:] == [
        ("credential.put", "success", "huggingface"),
        ("credential.put", "success", "huggingface"),
        ("credential.put", "failure:permission_denied", "huggingface"),
        ("credential.put", "failure:invalid_api_key_format", "huggingface"),
        ("credential.delete", "success", "huggingface"),
    ]
    first_put = rows[4]
    assert first_put["details"] == {"provider": "huggingface", "last4": "aaaa", "created": True}
    text = await audit_text(app)
    for secret in (KEY, NEW_KEY, KEY[4:-4], NEW_KEY[4:-4]):
        assert secret not in text
    verify = await app.client.get("/admin/v1/audit/verify", headers=await app.root())
    assert verify.json()["ok"] is True


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[str, ControlEvent]] = []

    async def on_message(self, message: Message) -> None:
        self.events.append((message.routing_key, ControlEvent.model_validate_json(message.body)))

    async def wait_for(self, count: int, timeout_s: float = 30.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.events) < count:
                await asyncio.sleep(0.02)


@pytest.fixture
async def listener(infra: Infra) -> AsyncIterator[Listener]:
    bus = await RabbitEventBus.connect(infra.amqp_url)
    found = Listener()
    await bus.subscribe(Subscription(infra.name("control"), ("credential.*",)), found.on_message)
    yield found
    await bus.close()


async def test_every_change_announces_credential_updated(
    pg_app: Running, listener: Listener
) -> None:
    app = pg_app
    org_id = await app.new_org("byok-events")
    await put_key(app, org_id, "openai", KEY)
    await put_key(app, org_id, "openai", NEW_KEY)
    await put_key(app, org_id, "bogus", NEW_KEY)  # refused: no event
    await app.client.delete(creds_url(org_id, "openai"), headers=await app.root())
    await listener.wait_for(3)
    await asyncio.sleep(0.5)  # nothing more arrives (the refused write sent nothing)
    assert [(key, e.type, e.org_id, e.provider) for key, e in listener.events] == [
        ("credential.updated", "credential.updated", org_id, "openai"),
    ] * 3
    assert all(KEY not in e.model_dump_json() for _, e in listener.events)
