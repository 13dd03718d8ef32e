"""Analytics authorizes through user-org's policy, and changes show there within a second:
a role change and a member removal are checked on every analytics route at once, with real
processes on Postgres, Redis and RabbitMQ. Sessions: logout, a password change and an
admin's "sign out everywhere" end access tokens in both services and refresh tokens."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.security.harness import Platform, bearer, eventually

PASSWORD = "member-password-1"
WINDOW = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}


def _org_with_member(p: Platform, email: str, role: str) -> tuple[str, str, dict[str, str]]:
    admin = p.admin()
    org = httpx.post(f"{p.userorg}/admin/v1/orgs", json={"name": email}, headers=admin).json()
    body = {"email": email, "role": role}
    invited = httpx.post(f"{p.userorg}/admin/v1/orgs/{org['id']}/members", json=body, headers=admin)
    assert invited.status_code == 202, invited.text
    accept = {"token": invited.json()["token"], "password": PASSWORD}
    added = httpx.post(f"{p.userorg}/admin/v1/invitations/accept", json=accept)
    assert added.status_code == 200, added.text
    return org["id"], added.json()["user_id"], admin


def _analytics_statuses(p: Platform, org_id: str, export_id: str, token: str) -> dict[str, int]:
    base = f"{p.analytics}/analytics/v1/orgs/{org_id}"
    headers = bearer(token)
    calls: dict[str, Callable[[], httpx.Response]] = {
        "usage": lambda: httpx.get(f"{base}/usage", params=WINDOW, headers=headers),
        "summary": lambda: httpx.get(f"{base}/usage/summary", headers=headers),
        "export.create": lambda: httpx.post(f"{base}/exports", json=WINDOW, headers=headers),
        "export.get": lambda: httpx.get(f"{base}/exports/{export_id}", headers=headers),
        "export.download": lambda: httpx.get(
            f"{base}/exports/{export_id}/download", headers=headers
        ),
    }
    with ThreadPoolExecutor(len(calls)) as pool:  # every route at once
        answers = dict(zip(calls, pool.map(lambda call: call(), calls.values()), strict=True))
    for answer in answers.values():
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            assert set(answer.json()["error"]) >= {"message", "type", "param", "code"}
    return {name: answer.status_code for name, answer in answers.items()}


def _first_export(p: Platform, org_id: str, token: str) -> str:
    url = f"{p.analytics}/analytics/v1/orgs/{org_id}/exports"
    created = httpx.post(url, json=WINDOW, headers=bearer(token))
    assert created.status_code == 202, created.text
    export_id: str = created.json()["id"]
    return export_id


def test_a_role_change_shows_on_every_analytics_route_within_a_second(running: Platform) -> None:
    org_id, user_id, admin = _org_with_member(running, "billing-role@sec.test", "billing")
    token = running.login("billing-role@sec.test", PASSWORD)["access_token"]
    export_id = _first_export(running, org_id, token)
    before = _analytics_statuses(running, org_id, export_id, token)
    assert {k: v for k, v in before.items() if k != "export.download"} == {
        "usage": 200, "summary": 200, "export.create": 202, "export.get": 200,
    }  # fmt: skip

    member = f"{running.userorg}/admin/v1/orgs/{org_id}/members/{user_id}"
    changed = httpx.patch(member, json={"role": "viewer"}, headers=admin)
    assert changed.status_code == 200, changed.text
    expected = {
        "usage": 200, "summary": 200, "export.create": 403, "export.get": 403,
        "export.download": 403,
    }  # fmt: skip
    eventually(lambda: _analytics_statuses(running, org_id, export_id, token) == expected, 1.0)


def test_a_removed_member_loses_every_analytics_route_within_a_second(running: Platform) -> None:
    org_id, user_id, admin = _org_with_member(running, "billing-gone@sec.test", "billing")
    tokens = running.login("billing-gone@sec.test", PASSWORD)
    token = tokens["access_token"]
    export_id = _first_export(running, org_id, token)
    assert _analytics_statuses(running, org_id, export_id, token)["summary"] == 200

    member = f"{running.userorg}/admin/v1/orgs/{org_id}/members/{user_id}"
    assert httpx.delete(member, headers=admin).status_code == 204
    gone = dict.fromkeys(
        ("usage", "summary", "export.create", "export.get", "export.download"), 404
    )
    eventually(lambda: _analytics_statuses(running, org_id, export_id, token) == gone, 1.0)
    # Nor can the session be renewed.
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = httpx.post(f"{running.userorg}/admin/v1/auth/token", data=form)
    assert refreshed.status_code == 401


def _ended_everywhere(p: Platform, org_id: str, token: str) -> bool:
    me = httpx.get(f"{p.userorg}/admin/v1/users/me", headers=bearer(token))
    summary = httpx.get(
        f"{p.analytics}/analytics/v1/orgs/{org_id}/usage/summary", headers=bearer(token)
    )
    return all(
        r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
        for r in (me, summary)
    )


def _still_works(p: Platform, org_id: str, token: str) -> bool:
    summary = httpx.get(
        f"{p.analytics}/analytics/v1/orgs/{org_id}/usage/summary", headers=bearer(token)
    )
    me = httpx.get(f"{p.userorg}/admin/v1/users/me", headers=bearer(token))
    return summary.status_code == 200 and me.status_code == 200


def _refresh(p: Platform, refresh_token: str) -> int:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return httpx.post(f"{p.userorg}/admin/v1/auth/token", data=form).status_code


def test_logout_ends_that_sessions_access_tokens_at_once(running: Platform) -> None:
    org_id, _, _ = _org_with_member(running, "logout@sec.test", "viewer")
    ended, other = (running.login("logout@sec.test", PASSWORD) for _ in range(2))
    assert _still_works(running, org_id, ended["access_token"])
    out = httpx.post(
        f"{running.userorg}/admin/v1/auth/logout", json={"refresh_token": ended["refresh_token"]}
    )
    assert out.status_code == 204
    assert _ended_everywhere(running, org_id, ended["access_token"])  # no wait at all
    assert _still_works(running, org_id, other["access_token"])  # another session lives on


def test_a_password_change_ends_every_session(running: Platform) -> None:
    org_id, _, _ = _org_with_member(running, "password@sec.test", "viewer")
    one, two = (running.login("password@sec.test", PASSWORD) for _ in range(2))
    change = {"current_password": PASSWORD, "new_password": "a-new-password-2"}
    url = f"{running.userorg}/admin/v1/users/me/password"
    assert httpx.put(url, json=change, headers=bearer(one["access_token"])).status_code == 204
    for session in (one, two):
        assert _ended_everywhere(running, org_id, session["access_token"])
        assert _refresh(running, session["refresh_token"]) == 401
    fresh = running.login("password@sec.test", "a-new-password-2")
    assert _still_works(running, org_id, fresh["access_token"])


def test_an_admin_signs_a_user_out_everywhere(running: Platform) -> None:
    org_id, user_id, admin = _org_with_member(running, "signout@sec.test", "viewer")
    _, other_id, _ = _org_with_member(running, "signout-other@sec.test", "viewer")
    session = running.login("signout@sec.test", PASSWORD)
    other = httpx.post(
        f"{running.userorg}/admin/v1/users/{other_id}/sign-out",
        headers=bearer(session["access_token"]),
    )
    assert other.status_code == 403  # not a platform admin: only their own sessions
    out = httpx.post(f"{running.userorg}/admin/v1/users/{user_id}/sign-out", headers=admin)
    assert out.status_code == 204
    assert _ended_everywhere(running, org_id, session["access_token"])
    assert _refresh(running, session["refresh_token"]) == 401
    unknown = httpx.post(f"{running.userorg}/admin/v1/users/nobody/sign-out", headers=admin)
    assert unknown.status_code == 404
