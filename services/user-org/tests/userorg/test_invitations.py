"""Adding a member is an invitation: the answer is the same whether or not the email has an
account, and nobody joins an org (the platform admin included) without accepting."""

from __future__ import annotations

from typing import Any

from aistrale_testkit.userorg import ADMIN_EMAIL, ADMIN_PASSWORD, Running

ACCEPT = "/admin/v1/invitations/accept"


async def _invite(app: Running, org_id: str, email: str, role: str = "viewer") -> Any:
    answer = await app.client.post(
        f"/admin/v1/orgs/{org_id}/members", json={"email": email, "role": role},
        headers=await app.root(),
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    return answer.json()


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    return {k: type(v).__name__ for k, v in body.items() if k not in ("id", "token", "email")}


async def _members(app: Running, org_id: str) -> list[str]:
    page = await app.client.get(f"/admin/v1/orgs/{org_id}/members", headers=await app.root())
    return [m["email"] for m in page.json()["data"]]


async def test_inviting_reveals_nothing_and_adds_nobody(pg_app: Running) -> None:
    org_id = await pg_app.new_org("invites")
    other = await pg_app.new_org("elsewhere")
    await pg_app.new_member(other, "known@inv.test", "viewer", "known-password")
    known = await _invite(pg_app, org_id, "known@inv.test")
    unknown = await _invite(pg_app, org_id, "unknown@inv.test")
    admin = await _invite(pg_app, org_id, ADMIN_EMAIL)
    assert _shape(known) == _shape(unknown) == _shape(admin)
    assert known.keys() == unknown.keys() and "user_id" not in known
    members = await _members(pg_app, org_id)
    assert not {"known@inv.test", "unknown@inv.test", ADMIN_EMAIL} & set(members)


async def test_the_invitee_accepts_with_their_password_or_a_new_one(pg_app: Running) -> None:
    org_id = await pg_app.new_org("accepts")
    other = await pg_app.new_org("first")
    await pg_app.new_member(other, "has@inv.test", "viewer", "has-password-1")
    existing = await _invite(pg_app, org_id, "has@inv.test", "billing")
    wrong = await pg_app.client.post(
        ACCEPT, json={"token": existing["token"], "password": "not-theirs-1"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_invitation"
    joined = await pg_app.client.post(
        ACCEPT, json={"token": existing["token"], "password": "has-password-1"}
    )
    assert joined.status_code == 200 and joined.json()["role"] == "billing"
    again = await pg_app.client.post(
        ACCEPT, json={"token": existing["token"], "password": "has-password-1"}
    )
    assert again.status_code == 401  # single use

    new = await _invite(pg_app, org_id, "new@inv.test")
    created = await pg_app.client.post(
        ACCEPT, json={"token": new["token"], "password": "chosen-password"}
    )
    assert created.status_code == 200, created.text
    await pg_app.login("new@inv.test", "chosen-password")
    assert {"has@inv.test", "new@inv.test"} <= set(await _members(pg_app, org_id))


async def test_the_platform_admin_joins_only_by_accepting(pg_app: Running) -> None:
    org_id = await pg_app.new_org("no-consent")
    invitation = await _invite(pg_app, org_id, ADMIN_EMAIL, "owner")
    forged = await pg_app.client.post(
        ACCEPT, json={"token": invitation["token"], "password": "guessed-password"}
    )
    assert forged.status_code == 401
    assert ADMIN_EMAIL not in await _members(pg_app, org_id)
    bad = await pg_app.client.post(ACCEPT, json={"token": "inv-nope", "password": ADMIN_PASSWORD})
    assert bad.status_code == 401
    old_api = await pg_app.client.post(
        f"/admin/v1/orgs/{org_id}/members",
        json={"email": "x@inv.test", "role": "viewer", "password": "a-password"},
        headers=await pg_app.root(),
    )
    assert old_api.status_code == 422  # a password is the invitee's to choose, not ours
