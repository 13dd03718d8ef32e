"""The audit log: every mutation and login recorded, hash-chained, tampering detected."""

from __future__ import annotations

import sqlalchemy as sa

from aistrale_testkit.userorg import ADMIN_EMAIL, Running
from aistrale_userorg.tables import audit_log

AUDIT = "/admin/v1/audit"


async def test_mutations_and_logins_are_recorded(pg_app: Running) -> None:
    app = pg_app
    headers = await app.root()
    org_id = await app.new_org("audited")
    key = await app.new_key(org_id)
    await app.client.post(
        "/admin/v1/auth/token", data={"username": ADMIN_EMAIL, "password": "wrong"}
    )
    rows = (await app.client.get(AUDIT, headers=headers)).json()["data"]
    seen = [(r["action"], r["outcome"]) for r in reversed(rows)]
    assert seen == [
        ("user.create", "success"),
        ("auth.login", "success"),
        ("org.create", "success"),
        ("key.create", "success"),
        ("auth.login", "failure:invalid_credentials"),
    ]
    key_row = rows[1]
    assert key_row["target"] == key["id"] and key_row["org_id"] == org_id
    assert key_row["actor_email"] == ADMIN_EMAIL and key_row["source_ip"] == "127.0.0.1"
    filtered = await app.client.get(
        AUDIT, params={"org_id": org_id, "action": "key.create"}, headers=headers
    )
    assert [r["target"] for r in filtered.json()["data"]] == [key["id"]]


async def test_denied_mutations_are_recorded_as_failures(pg_app: Running) -> None:
    app = pg_app
    org_id = await app.new_org("denied")
    await app.new_member(org_id, "vic@acme.test", "viewer", "viewer-password")
    viewer = await app.as_user("vic@acme.test", "viewer-password")
    denied = await app.client.post(
        f"/admin/v1/orgs/{org_id}/keys", json={"name": "x"}, headers=viewer
    )
    assert denied.status_code == 403
    rows = (
        await app.client.get(AUDIT, params={"action": "key.create"}, headers=await app.root())
    ).json()["data"]
    assert rows[0]["outcome"] == "failure:permission_denied"
    assert rows[0]["actor_email"] == "vic@acme.test"


async def test_org_owners_read_their_org_only(pg_app: Running) -> None:
    app = pg_app
    mine, other = await app.new_org("mine"), await app.new_org("other")
    await app.new_member(mine, "olga@acme.test", "owner", "owner-password")
    await app.new_member(mine, "mia@acme.test", "member", "member-password")
    owner = await app.as_user("olga@acme.test", "owner-password")
    member = await app.as_user("mia@acme.test", "member-password")
    own = await app.client.get(AUDIT, params={"org_id": mine}, headers=owner)
    assert own.status_code == 200 and {r["org_id"] for r in own.json()["data"]} == {mine}
    assert (await app.client.get(AUDIT, params={"org_id": other}, headers=owner)).status_code == 404
    assert (await app.client.get(AUDIT, headers=owner)).status_code == 403
    assert (await app.client.get(AUDIT, params={"org_id": mine}, headers=member)).status_code == 403
    assert (await app.client.get(f"{AUDIT}/verify", headers=owner)).status_code == 403


async def verify(app: Running) -> dict[str, object]:
    response = await app.client.get(f"{AUDIT}/verify", headers=await app.root())
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def tamper(app: Running, statement: sa.Executable) -> None:
    """What an attacker with the table owner's rights could do: switch the guard off."""
    async with app.ctx.db.transaction() as session:
        await session.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await session.execute(statement)
        await session.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


async def test_verify_detects_edits_and_deletions(pg_app: Running) -> None:
    app = pg_app
    for name in ("a", "b", "c"):
        await app.new_org(name)
    clean = await verify(app)
    assert clean["ok"] is True and clean["checked"] == clean["head_seq"] == 5

    await tamper(app, sa.update(audit_log).where(audit_log.c.seq == 3).values(target="forged"))
    edited = await verify(app)
    assert edited["ok"] is False and edited["first_bad_seq"] == 3

    await tamper(app, sa.delete(audit_log).where(audit_log.c.seq == 3))
    deleted = await verify(app)
    assert deleted["ok"] is False and deleted["first_bad_seq"] == 3


async def test_verify_detects_a_deleted_tail(pg_app: Running) -> None:
    app = pg_app
    await app.new_org("tail")
    async with app.ctx.db.session() as session:
        last = (await session.execute(sa.select(sa.func.max(audit_log.c.seq)))).scalar_one()
    await tamper(app, sa.delete(audit_log).where(audit_log.c.seq == last))
    result = await verify(app)
    assert result["ok"] is False and "head" in str(result["reason"])
