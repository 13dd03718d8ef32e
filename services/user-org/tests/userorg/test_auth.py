"""Logins: tokens analytics can verify, refresh rotation and reuse detection, lockout,
admin API keys, the first admin from the environment."""

from __future__ import annotations

from aistrale_common.auth.admin_token import verify_admin_token
from aistrale_testkit.userorg import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Running,
    StartApp,
)

TOKEN = "/admin/v1/auth/token"


async def test_login_issues_claims_that_analytics_can_verify(pg_app: Running) -> None:
    app = pg_app
    org_id = await app.new_org("claims")
    user_id = await app.new_member(org_id, "bill@acme.test", "billing", "bill-password")
    body = await app.login("Bill@Acme.test", "bill-password")
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["refresh_token"].startswith("rt-")
    claims = verify_admin_token(body["access_token"], app.settings.secret("jwt_secret"))
    assert claims.sub == user_id and claims.orgs == {org_id: "billing"}
    assert not claims.platform_admin
    root = verify_admin_token(
        (await app.login(ADMIN_EMAIL, ADMIN_PASSWORD))["access_token"],
        app.settings.secret("jwt_secret"),
    )
    assert root.platform_admin


async def test_refresh_rotates_and_reuse_revokes_the_family(pg_app: Running) -> None:
    app = pg_app
    first = await app.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = await app.client.post(TOKEN, data=form)
    assert second.status_code == 200
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]

    replay = await app.client.post(TOKEN, data=form)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_grant"
    # The thief replayed the old token: the legitimate newer one is dead too.
    after = await app.client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": rotated}
    )
    assert after.status_code == 401


async def test_logout_ends_the_session(pg_app: Running) -> None:
    tokens = await pg_app.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    out = await pg_app.client.post(
        "/admin/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert out.status_code == 204
    again = await pg_app.client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 401


async def test_lockout_after_repeated_failures(start_app: StartApp, pg_url: str) -> None:
    app = await start_app(pg_url, login_max_failures=3, login_lockout_s=60)
    for _ in range(3):
        bad = await app.client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": "wrong"})
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "invalid_credentials"
    locked = await app.client.post(
        TOKEN, data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 60
    # Unknown emails are throttled the same way, so a lockout reveals nothing.
    for _ in range(3):
        await app.client.post(TOKEN, data={"username": "ghost@x.test", "password": "pw"})
    ghost = await app.client.post(TOKEN, data={"username": "ghost@x.test", "password": "pw"})
    assert ghost.status_code == 429


async def test_admin_api_key_exchange(pg_app: Running) -> None:
    app = pg_app
    headers = await app.root()
    created = await app.client.post(
        "/admin/v1/users/me/admin-keys", json={"name": "ci"}, headers=headers
    )
    assert created.status_code == 201
    secret = created.json()["key"]
    assert secret.startswith("ak-")
    grant = {"grant_type": "client_credentials", "client_secret": secret}
    exchanged = await app.client.post(TOKEN, data=grant)
    assert exchanged.status_code == 200 and exchanged.json()["refresh_token"] is None
    access = {"authorization": f"Bearer {exchanged.json()['access_token']}"}
    assert (await app.client.get("/admin/v1/users/me", headers=access)).json()["email"] == (
        ADMIN_EMAIL
    )
    listed = await app.client.get("/admin/v1/users/me/admin-keys", headers=headers)
    assert listed.json()["data"][0]["last_used_at"] is not None
    key_id = created.json()["id"]
    assert (
        await app.client.delete(f"/admin/v1/users/me/admin-keys/{key_id}", headers=headers)
    ).status_code == 204
    assert (await app.client.post(TOKEN, data=grant)).status_code == 401


async def test_bad_tokens_and_the_first_admin_only_once(start_app: StartApp, pg_url: str) -> None:
    app = await start_app(pg_url)
    for headers in ({}, {"authorization": "Bearer nope"}):
        response = await app.client.get("/admin/v1/orgs", headers=headers)
        assert response.status_code == 401
    # A second start with other credentials does not add another platform admin.
    again = await start_app(pg_url, admin_email="second@aistrale.test")
    users = await again.client.get("/admin/v1/users", headers=await again.root())
    assert [u["email"] for u in users.json()["data"]] == [ADMIN_EMAIL]


async def test_password_change(pg_app: Running) -> None:
    app = pg_app
    org_id = await app.new_org("pw")
    await app.new_member(org_id, "pat@acme.test", "viewer", "old-password")
    headers = await app.as_user("pat@acme.test", "old-password")
    wrong = await app.client.put(
        "/admin/v1/users/me/password",
        headers=headers,
        json={"current_password": "nope", "new_password": "new-password"},
    )
    assert wrong.status_code == 403
    ok = await app.client.put(
        "/admin/v1/users/me/password",
        headers=headers,
        json={"current_password": "old-password", "new_password": "new-password"},
    )
    assert ok.status_code == 204
    await app.login("pat@acme.test", "new-password")
