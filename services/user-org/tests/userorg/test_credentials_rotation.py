"""KEK rotation on Postgres: credentials sealed under the old KEK, the service restarted with
new + previous, rotated by the endpoint, by the scheduled job and by the CLI (a real
process); afterwards the new KEK alone opens everything, and re-running changes nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aistrale_common.crypto import Kek, KeyRing, Sealed
from aistrale_testkit.processes import python_module_argv
from aistrale_testkit.userorg import Running, StartApp
from aistrale_userorg.provider_credentials import repository as repo
from aistrale_userorg.provider_credentials.rotation import rewrap_all
from aistrale_userorg.tables import audit_log, provider_credentials

ROTATE = "/admin/v1/provider-credentials/rotate-kek"
KEYS = {
    ("a", "openai"): "sk-proj-openai-key-for-org-a-0001",
    ("a", "anthropic"): "sk-ant-api03-key-for-org-a-0002",
    ("b", "gemini"): "AIzaSy-gemini-key-for-org-b-0003",
}


async def seed(app: Running) -> dict[tuple[str, str], str]:
    """Stores KEYS in two new orgs; returns (org id, provider) -> key."""
    orgs = {"a": await app.new_org("rot-a"), "b": await app.new_org("rot-b")}
    stored: dict[tuple[str, str], str] = {}
    for (org, provider), key in KEYS.items():
        url = f"/admin/v1/orgs/{orgs[org]}/provider-credentials/{provider}"
        response = await app.client.put(url, json={"api_key": key}, headers=await app.root())
        assert response.status_code == 201, response.text
        stored[(orgs[org], provider)] = key
    return stored


async def rows(app: Running) -> dict[tuple[str, str], dict[str, Any]]:
    async with app.ctx.db.session() as session:
        found = (await session.execute(sa.select(provider_credentials))).mappings().all()
    return {(r["org_id"], r["provider"]): dict(r) for r in found}


async def assert_readable(app: Running, stored: dict[tuple[str, str], str]) -> None:
    for (org_id, provider), key in stored.items():
        url = f"/internal/v1/orgs/{org_id}/provider-credentials/{provider}"
        response = await app.client.get(url, headers=app.service())
        assert response.status_code == 200, response.text
        assert response.json()["api_key"] == key


async def rotation_audit(app: Running) -> list[tuple[str | None, str, dict[str, Any]]]:
    query = sa.select(audit_log).where(audit_log.c.action == "credential.rotate_kek")
    async with app.ctx.db.session() as session:
        found = (await session.execute(query.order_by(audit_log.c.seq))).mappings().all()
    return [(r["actor_id"], r["outcome"], json.loads(r["details"])) for r in found]


async def test_rotation_through_the_endpoint(start_app: StartApp, pg_url: str) -> None:
    old, new = Kek.generate_text(), Kek.generate_text()
    before = await start_app(pg_url, credentials_kek=old)
    stored = await seed(before)
    old_id = before.ctx.keyring.primary.id
    sealed_before = await rows(before)
    assert {r["kek_id"] for r in sealed_before.values()} == {old_id}

    # Step 2 of the runbook: new primary, old as previous. Both generations read.
    app = await start_app(pg_url, credentials_kek=new, credentials_kek_previous=old)
    new_id = app.ctx.keyring.primary.id
    await assert_readable(app, stored)
    added = await app.client.put(
        f"/admin/v1/orgs/{next(iter(stored))[0]}/provider-credentials/groq",
        json={"api_key": "gsk_groq-key-sealed-new-0004"},
        headers=await app.root(),
    )
    assert added.status_code == 201
    stored[(next(iter(stored))[0], "groq")] = "gsk_groq-key-sealed-new-0004"

    owner_org = next(iter(stored))[0]
    await app.new_member(owner_org, "own@rot.test", "owner", "owner-password")
    owner = await app.as_user("own@rot.test", "owner-password")
    refused = await app.client.post(ROTATE, headers=owner)
    assert refused.status_code == 403
    assert (await rows(app))[(owner_org, "openai")]["kek_id"] == old_id  # nothing rotated

    first = await app.client.post(ROTATE, headers=await app.root())
    assert first.status_code == 200, first.text
    assert first.json() == {"rotated": 3, "remaining_old": 0, "kek_id": new_id}
    after = await rows(app)
    for name, row in after.items():
        assert row["kek_id"] == new_id and Sealed.decode(row["sealed"]).kek_id == new_id
        if name in sealed_before:
            # Only the data key is re-wrapped: the payload ciphertext stays as it was.
            old_box = Sealed.decode(sealed_before[name]["sealed"])
            assert Sealed.decode(row["sealed"]).ciphertext == old_box.ciphertext
            assert row["rotated_at"] is not None
    await assert_readable(app, stored)

    again = await app.client.post(ROTATE, headers=await app.root())
    assert again.json() == {"rotated": 0, "remaining_old": 0, "kek_id": new_id}
    assert await rows(app) == after

    # The old KEK is no longer needed.
    only_new = await start_app(pg_url, credentials_kek=new)
    await assert_readable(only_new, stored)
    audit = await rotation_audit(app)
    root_id = audit[-1][0]
    assert [(o, d.get("rotated"), d.get("remaining_old")) for _, o, d in audit] == [
        ("failure:permission_denied", None, None),
        ("success", 3, 0),
        ("success", 0, 0),
    ]
    assert audit[0][0] != root_id and all(actor == root_id for actor, _, _ in audit[1:])


async def test_a_row_under_an_unknown_kek_is_left_and_counted(
    start_app: StartApp, pg_url: str
) -> None:
    lost, old, new = Kek.generate_text(), Kek.generate_text(), Kek.generate_text()
    orphan = await seed(await start_app(pg_url, credentials_kek=lost))
    app = await start_app(pg_url, credentials_kek=old)
    stored = {}
    org_id = await app.new_org("rot-c")
    url = f"/admin/v1/orgs/{org_id}/provider-credentials/openai"
    await app.client.put(url, json={"api_key": "sk-old-kek-0005"}, headers=await app.root())
    stored[(org_id, "openai")] = "sk-old-kek-0005"

    rotating = await start_app(pg_url, credentials_kek=new, credentials_kek_previous=old)
    result = await rotating.client.post(ROTATE, headers=await rotating.root())
    assert result.json()["rotated"] == 1 and result.json()["remaining_old"] == len(orphan)
    await assert_readable(rotating, stored)
    audit = await rotation_audit(rotating)
    assert audit[-1][1] == "failure:remaining_old"


async def test_compare_and_swap_leaves_a_changed_row_alone(
    start_app: StartApp, pg_url: str
) -> None:
    old, new = Kek.generate_text(), Kek.generate_text()
    app = await start_app(pg_url, credentials_kek=old)
    stored = await seed(app)
    (org_id, provider), _ = next(iter(stored.items()))
    row = (await rows(app))[(org_id, provider)]
    ring = KeyRing(Kek.from_text(new), [Kek.from_text(old)])
    async with app.ctx.db.transaction() as session:
        stale = await repo.swap(
            session, row["id"], "v1.not-what-is-stored", "x", "k", row["updated_at"]
        )
    assert stale == 0 and (await rows(app))[(org_id, provider)] == row
    result = await rewrap_all(app.ctx.db, ring, batch=1)  # one row per page: paging works
    assert (result.rotated, result.remaining_old) == (3, 0)


async def test_the_scheduled_job_rotates(start_app: StartApp, pg_url: str) -> None:
    old, new = Kek.generate_text(), Kek.generate_text()
    stored = await seed(await start_app(pg_url, credentials_kek=old))
    app = await start_app(
        pg_url,
        credentials_kek=new,
        credentials_kek_previous=old,
        credentials_rotation_interval_s=0.2,
    )
    new_id = app.ctx.keyring.primary.id
    async with asyncio.timeout(10):
        while {r["kek_id"] for r in (await rows(app)).values()} != {new_id}:
            await asyncio.sleep(0.1)
    await assert_readable(await start_app(pg_url, credentials_kek=new), stored)
    await asyncio.sleep(0.6)  # further runs find nothing to do and leave no audit record
    audit = await rotation_audit(app)
    assert [(a, o, d["rotated"]) for a, o, d in audit] == [("system:kek-rotation", "success", 3)]


def _cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = python_module_argv("aistrale-user-org", "rotate-credentials-kek")
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


async def test_the_cli_rotates(start_app: StartApp, pg_url: str, tmp_path: Path) -> None:
    old, new = Kek.generate_text(), Kek.generate_text()
    app = await start_app(pg_url, credentials_kek=old)
    stored = await seed(app)
    env = {
        "PATH": "/usr/bin:/bin",
        "AISTRALE_ENVIRONMENT": "test",
        "AISTRALE_DATA_DIR": str(tmp_path),
        "AISTRALE_USER_ORG_DATABASE_URL": pg_url,
        "AISTRALE_CREDENTIALS_KEK": new,
        "AISTRALE_CREDENTIALS_KEK_PREVIOUS": old,
        "AISTRALE_LOG_LEVEL": "INFO",
    }
    done = await asyncio.to_thread(_cli, env)
    assert done.returncode == 0, done.stderr
    new_id = Kek.from_text(new).id
    assert json.loads(done.stdout) == {"rotated": 3, "remaining_old": 0, "kek_id": new_id}
    again = await asyncio.to_thread(_cli, env)
    assert json.loads(again.stdout)["rotated"] == 0 and again.returncode == 0
    await assert_readable(await start_app(pg_url, credentials_kek=new), stored)
    for key in stored.values():
        assert key not in done.stdout + done.stderr + again.stdout + again.stderr

    # Rows under a KEK the CLI was not given: nothing rotated, exit status 1.
    wrong = await asyncio.to_thread(_cli, {**env, "AISTRALE_CREDENTIALS_KEK": Kek.generate_text()})
    assert wrong.returncode == 1
    assert json.loads(wrong.stdout.strip().splitlines()[-1])["remaining_old"] == 3
    audit = await rotation_audit(app)
    assert [(a, o) for a, o, _ in audit] == [
        ("system:kek-rotation", "success"),
        ("system:kek-rotation", "success"),
        ("system:kek-rotation", "failure:remaining_old"),
    ]
