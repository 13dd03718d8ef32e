"""The main path on both databases: sign in, org, key, the router's lookup, revocation."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from aistrale_common.events import MemoryEventBus
from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.userorg import Running, StartApp
from aistrale_userorg.tables import audit_log


@pytest.fixture(params=["postgres", "sqlite"])
async def app(
    request: pytest.FixtureRequest, start_app: StartApp, pg_url: str, tmp_path: Path
) -> Running:
    if request.param == "postgres":
        return await start_app(pg_url)
    # The embedded defaults: SQLite file and the in-process bus.
    return await start_app(
        f"sqlite+aiosqlite:///{tmp_path}/user-org.db", bus=MemoryEventBus(), amqp_url=None
    )


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def test_key_lifecycle_through_the_router_lookup(app: Running) -> None:
    org_id = await app.new_org("acme", rpm_limit=600, tpm_limit=90000)
    created = await app.new_key(
        org_id, rpm_limit=60, tpm_limit=1000, allowed_models=["gemma-3-270m"]
    )
    key = created["key"]
    assert key.startswith("sk-") and len(key) >= 3 + 43  # 256 bits, url-safe base64
    assert created["prefix"] == key[:10] and created["status"] == "active"

    headers = await app.root()
    budget = {"limit_micro_usd": 5_000_000, "period": "month"}
    response = await app.client.put(f"/admin/v1/orgs/{org_id}/budget", json=budget, headers=headers)
    assert response.status_code == 200, response.text
    key_budget = {"limit_micro_usd": 1_000_000, "period": "day"}
    response = await app.client.put(
        f"/admin/v1/orgs/{org_id}/keys/{created['id']}/budget", json=key_budget, headers=headers
    )
    assert response.status_code == 200, response.text

    response = await app.client.get(f"/internal/v1/keys/{sha(key)}", headers=app.service())
    assert response.status_code == 200, response.text
    record = KeyRecord.model_validate_json(response.content)
    assert record.key_id == created["id"] and record.org_id == org_id
    assert record.status == "active" and record.allowed_models == ["gemma-3-270m"]
    assert (record.rpm_limit, record.tpm_limit) == (60, 1000)
    assert (record.org_rpm_limit, record.org_tpm_limit) == (600, 90000)
    assert [(b.scope, b.scope_id, b.limit_micro_usd, b.period) for b in record.budgets] == [
        ("org", org_id, 5_000_000, "month"),
        ("key", created["id"], 1_000_000, "day"),
    ]

    response = await app.client.delete(
        f"/admin/v1/orgs/{org_id}/keys/{created['id']}", headers=headers
    )
    assert response.status_code == 204
    response = await app.client.get(f"/internal/v1/keys/{sha(key)}", headers=app.service())
    assert KeyRecord.model_validate_json(response.content).status == "revoked"
    listed = await app.client.get(f"/admin/v1/orgs/{org_id}/keys", headers=headers)
    assert [k["status"] for k in listed.json()["data"]] == ["revoked"]
    assert "key" not in listed.json()["data"][0] and "key_hash" not in listed.json()["data"][0]


async def test_lookup_errors(app: Running) -> None:
    unknown = await app.client.get(f"/internal/v1/keys/{sha('sk-nope')}", headers=app.service())
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    for headers in ({}, {"authorization": "Bearer wrong"}, await app.root()):
        response = await app.client.get(f"/internal/v1/keys/{sha('x')}", headers=headers)
        assert response.status_code == 401, headers


async def test_expired_key_reports_expired(app: Running) -> None:
    org_id = await app.new_org("exp")
    created = await app.new_key(org_id, expires_at="2099-01-01T00:00:00Z")
    lookup = f"/internal/v1/keys/{sha(created['key'])}"
    response = await app.client.get(lookup, headers=app.service())
    assert KeyRecord.model_validate_json(response.content).status == "active"
    # Setting an expiry in the past is how a key is expired now.
    past = await app.client.patch(
        f"/admin/v1/orgs/{org_id}/keys/{created['id']}",
        json={"expires_at": "2001-01-01T00:00:00Z"},
        headers=await app.root(),
    )
    assert past.status_code == 200 and past.json()["status"] == "expired"
    response = await app.client.get(lookup, headers=app.service())
    record = KeyRecord.model_validate_json(response.content)
    assert record.status == "expired" and record.expires_at is not None
    assert record.expires_at.year == 2001


async def test_duplicates_conflict_and_bad_input_is_422(app: Running) -> None:
    headers = await app.root()
    await app.new_org("dup")
    again = await app.client.post("/admin/v1/orgs", json={"name": "dup"}, headers=headers)
    assert again.status_code == 409
    bad = await app.client.post(
        "/admin/v1/orgs", json={"name": "", "rpm_limit": -1}, headers=headers
    )
    assert bad.status_code == 422
    params = {d["param"] for d in bad.json()["error"]["details"]}
    assert params == {"name", "rpm_limit"}
    budget = await app.client.put(
        "/admin/v1/orgs/nope/budget", json={"limit_micro_usd": 1, "period": "week"}, headers=headers
    )
    assert budget.status_code == 422 and budget.json()["error"]["param"] == "period"


async def test_concurrent_writes_keep_one_audit_chain(app: Running) -> None:
    org_id = await app.new_org("busy")
    headers = await app.root()

    async def create(i: int) -> int:
        response = await app.client.post(
            f"/admin/v1/orgs/{org_id}/keys", json={"name": f"k{i}"}, headers=headers
        )
        return response.status_code

    assert await asyncio.gather(*(create(i) for i in range(20))) == [201] * 20
    verified = (await app.client.get("/admin/v1/audit/verify", headers=headers)).json()
    assert verified["ok"] is True and verified["checked"] >= 22


async def test_the_audit_log_is_append_only(app: Running) -> None:
    await app.new_org("kept")
    for statement in (sa.update(audit_log).values(outcome="forged"), sa.delete(audit_log)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with app.ctx.db.transaction() as session:
                await session.execute(statement)


async def test_tags_of_the_key_and_its_org_reach_the_router_lookup(app: Running) -> None:
    org_id = await app.new_org("tagged")
    created = await app.new_key(org_id)
    assert created["tags"] == []
    lookup = f"/internal/v1/keys/{sha(created['key'])}"
    record = KeyRecord.model_validate_json(
        (await app.client.get(lookup, headers=app.service())).content
    )
    assert (record.tags, record.org_tags, record.all_tags()) == ([], [], frozenset())
    headers = await app.root()
    key_path = f"/admin/v1/orgs/{org_id}/keys/{created['id']}"
    changed = await app.client.patch(key_path, json={"tags": ["premium"]}, headers=headers)
    assert changed.status_code == 200 and changed.json()["tags"] == ["premium"], changed.text
    org = await app.client.patch(f"/admin/v1/orgs/{org_id}", json={"tags": ["eu"]}, headers=headers)
    assert org.status_code == 200 and org.json()["tags"] == ["eu"], org.text
    record = KeyRecord.model_validate_json(
        (await app.client.get(lookup, headers=app.service())).content
    )
    assert (record.tags, record.org_tags) == (["premium"], ["eu"])
    assert record.all_tags() == {"premium", "eu"}
    await app.client.patch(key_path, json={"tags": None}, headers=headers)
    assert (await app.client.get(key_path, headers=headers)).json()["tags"] == []
