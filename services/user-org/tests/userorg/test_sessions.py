"""Console sessions: an HTTP-only SameSite=Strict cookie that resolves to the same principal
as a bearer token, CSRF on mutating calls, audit, timeouts, and sign-out."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie
from pathlib import Path

import httpx

from aistrale_testkit.userorg import ADMIN_EMAIL, ADMIN_PASSWORD, Running, StartApp

SESSION = "/admin/v1/auth/session"


def _cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    jar: dict[str, SimpleCookie] = {}
    for raw in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(raw)
        jar.update({name: cookie for name in cookie})
    return jar


async def _sign_in(
    app: Running, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> tuple[dict[str, str], str]:
    response = await app.client.post(SESSION, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    jar = _cookies(response)
    sid = jar["aistrale_session"]["aistrale_session"].value
    csrf = jar["aistrale_csrf"]["aistrale_csrf"].value
    assert csrf == response.json()["csrf_token"]
    return {"cookie": f"aistrale_session={sid}; aistrale_csrf={csrf}"}, csrf


async def test_sign_in_sets_http_only_strict_cookies(pg_app: Running) -> None:
    response = await pg_app.client.post(
        SESSION, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    jar = _cookies(response)
    session = jar["aistrale_session"]["aistrale_session"]
    csrf = jar["aistrale_csrf"]["aistrale_csrf"]
    assert session["httponly"] and session["samesite"] == "strict" and session["path"] == "/"
    assert not csrf["httponly"] and csrf["samesite"] == "strict"
    assert not session["secure"]  # the test environment is plain HTTP; production sets it
    body = response.json()
    assert body["email"] == ADMIN_EMAIL and body["platform_admin"]
    assert "aistrale_session" not in response.text  # the id is only ever in the cookie


async def test_wrong_password_says_invalid_without_saying_which(pg_app: Running) -> None:
    wrong = await pg_app.client.post(SESSION, json={"email": ADMIN_EMAIL, "password": "nope"})
    unknown = await pg_app.client.post(SESSION, json={"email": "nobody@x.test", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert "set-cookie" not in wrong.headers


async def test_cookie_calls_need_csrf_to_mutate_and_are_audited(pg_app: Running) -> None:
    cookie, csrf = await _sign_in(pg_app)
    assert (await pg_app.client.get("/admin/v1/orgs", headers=cookie)).status_code == 200
    refused = await pg_app.client.post("/admin/v1/orgs", json={"name": "c1"}, headers=cookie)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    forged = {**cookie, "x-csrf-token": "forged"}
    assert (
        await pg_app.client.post("/admin/v1/orgs", json={"name": "c1"}, headers=forged)
    ).status_code == 403
    made = await pg_app.client.post(
        "/admin/v1/orgs", json={"name": "c1"}, headers={**cookie, "x-csrf-token": csrf}
    )
    assert made.status_code == 201, made.text
    audit = await pg_app.client.get(
        "/admin/v1/audit", params={"action": "org.create"}, headers=await pg_app.root()
    )
    rows = audit.json()["data"]
    assert [r["actor_email"] for r in rows] == [ADMIN_EMAIL]
    logins = await pg_app.client.get(
        "/admin/v1/audit", params={"action": "auth.login"}, headers=await pg_app.root()
    )
    assert any(r["details"].get("via") == "session" for r in logins.json()["data"])


async def test_the_cookie_goes_through_the_same_authorization(pg_app: Running) -> None:
    org_id = await pg_app.new_org("authz")
    await pg_app.new_member(org_id, "viewer@x.test", "viewer", "viewer-password")
    other = await pg_app.new_org("other")
    cookie, csrf = await _sign_in(pg_app, "viewer@x.test", "viewer-password")
    mutate = {**cookie, "x-csrf-token": csrf}
    listed = await pg_app.client.get("/admin/v1/orgs", headers=cookie)
    assert [o["id"] for o in listed.json()["data"]] == [org_id]
    assert (await pg_app.client.get(f"/admin/v1/orgs/{other}", headers=cookie)).status_code == 404
    denied = await pg_app.client.post(
        f"/admin/v1/orgs/{org_id}/keys", json={"name": "k"}, headers=mutate
    )
    assert denied.status_code == 403


async def test_logout_ends_the_session_server_side(pg_app: Running) -> None:
    cookie, csrf = await _sign_in(pg_app)
    assert (await pg_app.client.delete(SESSION, headers=cookie)).status_code == 403  # no CSRF
    out = await pg_app.client.delete(SESSION, headers={**cookie, "x-csrf-token": csrf})
    assert out.status_code == 204
    assert (
        'aistrale_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    after = await pg_app.client.get("/admin/v1/orgs", headers=cookie)  # the old cookie, replayed
    assert after.status_code == 401
    assert (await pg_app.client.get(SESSION, headers=cookie)).status_code == 401


async def test_idle_session_expires(start_app: StartApp, pg_url: str) -> None:
    app = await start_app(pg_url, session_idle_timeout_s=0.6)
    cookie, _ = await _sign_in(app)
    for _ in range(3):  # used every 0.3 s: stays alive past 0.6 s
        await asyncio.sleep(0.3)
        assert (await app.client.get(SESSION, headers=cookie)).status_code == 200
    await asyncio.sleep(0.8)
    expired = await app.client.get("/admin/v1/orgs", headers=cookie)
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "session_expired"


async def test_bearer_tokens_still_work_and_need_no_csrf(pg_app: Running) -> None:
    made = await pg_app.client.post(
        "/admin/v1/orgs", json={"name": "bearer"}, headers=await pg_app.root()
    )
    assert made.status_code == 201
    none = await pg_app.client.get("/admin/v1/orgs")
    assert none.status_code == 401


async def test_user_org_serves_a_baked_console_bundle(
    start_app: StartApp, pg_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "console-dist"
    (bundle / "assets").mkdir(parents=True)
    (bundle / "index.html").write_text("<html>console</html>")
    (bundle / "assets" / "app-1.js").write_text("1")
    app = await start_app(pg_url, console_dist_dir=bundle)
    for path in ("/console/", "/console/orgs/o1/keys"):
        page = await app.client.get(path)
        assert page.status_code == 200 and page.text == "<html>console</html>", path
    assert (await app.client.get("/console/assets/app-1.js")).text == "1"
    assert (await app.client.get("/console", follow_redirects=False)).status_code == 308


async def test_a_new_password_ends_every_console_session(pg_app: Running) -> None:
    org_id = await pg_app.new_org("pw")
    await pg_app.new_member(org_id, "pat@x.test", "viewer", "pat-password-1")
    cookie, _ = await _sign_in(pg_app, "pat@x.test", "pat-password-1")
    assert (await pg_app.client.get("/admin/v1/orgs", headers=cookie)).status_code == 200
    changed = await pg_app.client.put(
        "/admin/v1/users/me/password",
        json={"current_password": "pat-password-1", "new_password": "pat-password-2"},
        headers=await pg_app.as_user("pat@x.test", "pat-password-1"),
    )
    assert changed.status_code == 204, changed.text
    assert (await pg_app.client.get("/admin/v1/orgs", headers=cookie)).status_code == 401
    fresh, _ = await _sign_in(pg_app, "pat@x.test", "pat-password-2")
    assert (await pg_app.client.get("/admin/v1/orgs", headers=fresh)).status_code == 200


async def test_session_sign_in_asks_for_the_second_factor(pg_app: Running) -> None:
    import pyotp

    mfa = "/admin/v1/users/me/mfa/totp"
    org_id = await pg_app.new_org("mfa-session")
    await pg_app.new_member(org_id, "tia@x.test", "viewer", "tia-password-1")
    headers = await pg_app.as_user("tia@x.test", "tia-password-1")
    totp = pyotp.TOTP((await pg_app.client.post(mfa, headers=headers)).json()["secret"])
    done = await pg_app.client.post(f"{mfa}/verify", json={"code": totp.now()}, headers=headers)
    assert done.status_code == 200, done.text
    body = {"email": "tia@x.test", "password": "tia-password-1"}
    asked = await pg_app.client.post(SESSION, json=body)
    assert asked.status_code == 401 and asked.json()["error"]["code"] == "mfa_required"
    assert "set-cookie" not in asked.headers
    wrong = await pg_app.client.post(SESSION, json={**body, "code": "000000"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers

    recovery = done.json()["recovery_codes"][0]  # the TOTP code above is spent (single use)
    signed = await pg_app.client.post(SESSION, json={**body, "code": recovery})
    assert signed.status_code == 200, signed.text
    record = await pg_app.ctx.sessions.resolve(
        _cookies(signed)["aistrale_session"]["aistrale_session"].value
    )
    assert record.mfa
