"""TOTP for admin users: enrol, verify, sign in with a code (once only) or a recovery code;
where platform policy requires it, a platform admin without MFA has only their own account."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pyotp

from aistrale_testkit.userorg import ADMIN_EMAIL, ADMIN_PASSWORD, Running, StartApp

TOKEN = "/admin/v1/auth/token"
MFA = "/admin/v1/users/me/mfa/totp"


async def _enrol(app: Running, headers: dict[str, str]) -> tuple[pyotp.TOTP, list[str]]:
    started = await app.client.post(MFA, headers=headers)
    assert started.status_code == 201, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/")
    wrong = await app.client.post(f"{MFA}/verify", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 403
    done = await app.client.post(f"{MFA}/verify", json={"code": totp.now()}, headers=headers)
    assert done.status_code == 200, done.text
    codes: list[str] = done.json()["recovery_codes"]
    assert len(set(codes)) == 10
    return totp, codes


async def _login(app: Running, email: str, password: str, code: str | None) -> Any:
    form = {"username": email, "password": password, **({"totp": code} if code else {})}
    return await app.client.post(TOKEN, data=form)


def _claims(answer: Any) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        answer.json()["access_token"], options={"verify_signature": False}
    )
    return claims


async def test_totp_enrol_verify_and_sign_in(pg_app: Running) -> None:
    org_id = await pg_app.new_org("mfa")
    await pg_app.new_member(org_id, "otp@mfa.test", "admin", "otp-password-1")
    headers = await pg_app.as_user("otp@mfa.test", "otp-password-1")
    totp, recovery = await _enrol(pg_app, headers)

    missing = await _login(pg_app, "otp@mfa.test", "otp-password-1", None)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "mfa_required"
    code = totp.at(time.time() + 30)  # the enrolment's code is spent: the next step's
    signed_in = await _login(pg_app, "otp@mfa.test", "otp-password-1", code)
    assert signed_in.status_code == 200, signed_in.text
    assert _claims(signed_in)["mfa"] is True
    replay = await _login(pg_app, "otp@mfa.test", "otp-password-1", code)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_mfa_code"

    by_recovery = await _login(pg_app, "otp@mfa.test", "otp-password-1", recovery[0])
    assert by_recovery.status_code == 200
    again = await _login(pg_app, "otp@mfa.test", "otp-password-1", recovery[0])
    assert again.status_code == 401  # each recovery code once
    # A refreshed session keeps its MFA.
    form = {"grant_type": "refresh_token", "refresh_token": by_recovery.json()["refresh_token"]}
    refreshed = await pg_app.client.post(TOKEN, data=form)
    assert refreshed.status_code == 200 and _claims(refreshed)["mfa"] is True


async def test_platform_admins_need_mfa_where_policy_requires_it(
    start_app: StartApp, pg_url: str
) -> None:
    app = await start_app(pg_url, require_platform_admin_mfa=True)
    plain = await _login(app, ADMIN_EMAIL, ADMIN_PASSWORD, None)
    headers = {"authorization": f"Bearer {plain.json()['access_token']}"}
    refused = await app.client.get("/admin/v1/users", headers=headers)
    assert refused.status_code == 403, refused.text
    assert (await app.client.get("/admin/v1/users/me", headers=headers)).status_code == 200
    totp, _ = await _enrol(app, headers)  # their own account stays theirs: they can enrol
    verified = await _login(app, ADMIN_EMAIL, ADMIN_PASSWORD, totp.at(time.time() + 30))
    admin = {"authorization": f"Bearer {verified.json()['access_token']}"}
    assert (await app.client.get("/admin/v1/users", headers=admin)).status_code == 200
