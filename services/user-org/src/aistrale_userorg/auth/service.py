"""Logins: password, refresh-token rotation and admin API keys, all three issuing the same
short-lived access token (no FastAPI here).

Every attempt is audited. Failures count per email, known or not (so the lockout does not
reveal which accounts exist); past the threshold the email is locked with a doubling delay.
A refresh token is single use: presenting a used one again revokes its whole family.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from aistrale_common.auth.admin_token import AdminClaims, issue_admin_token
from aistrale_common.errors import AuthenticationFailed, RateLimited
from aistrale_userorg.auth import repository as repo
from aistrale_userorg.auth import throttle
from aistrale_userorg.auth.schemas import TokenResponse
from aistrale_userorg.context import Context
from aistrale_userorg.mfa import service as mfa_service
from aistrale_userorg.principal import Principal, anonymous
from aistrale_userorg.security import REFRESH_PREFIX, new_secret, sha256_hex, verify_password
from aistrale_userorg.uow import Tx
from aistrale_userorg.users import repository as users_repo
from aistrale_userorg.util import as_utc, new_id, utcnow

BAD_LOGIN = "Incorrect email or password"


async def password_grant(
    ctx: Context, email: str, password: str, ip: str | None, code: str | None = None
) -> TokenResponse:
    actor, user = await check_password(ctx, email, password, ip)
    try:
        async with ctx.uow.write(actor, "auth.login", target=user["id"]) as tx:
            ctx.authz.check(actor, "auth.token")
            mfa = await mfa_service.second_factor(ctx, tx.session, user["id"], code)
            await repo.clear_failures(tx.session, user["email"])
            return await _issue(ctx, tx, user, family_id=new_id(), mfa=mfa)
    except AuthenticationFailed:
        await second_factor_failed(ctx, actor, user["email"], ip, code)
        raise


async def second_factor_failed(
    ctx: Context, actor: Principal, email: str, ip: str | None, code: str | None
) -> None:
    # A wrong second factor counts like a wrong password (the same lockout); asking for
    # the code (none sent yet, the console's first step) does not.
    if code is not None:
        await _count_failure(ctx, actor, email)
        await throttle.count_failure(ctx, ip)


async def check_password(
    ctx: Context, email: str, password: str, ip: str | None
) -> tuple[Principal, dict[str, Any]]:
    """The user, or 401 (audited, counted towards the lockout and the address throttle); 429
    while locked or throttled. Shared by the token endpoint and the console's session login."""
    email = email.strip().lower()
    actor = anonymous(ip, email)
    await throttle.refuse_if_throttled(ctx, ip)
    await _refuse_if_locked(ctx, actor, email)
    async with ctx.db.session() as session:
        user = await users_repo.by_email(session, email)
    rounds = ctx.settings.bcrypt_rounds
    ok = await verify_password(password, user["password_hash"] if user else None, rounds)
    if user is None or not ok:
        await _count_failure(ctx, actor, email)
        await throttle.count_failure(ctx, ip)
        raise AuthenticationFailed(BAD_LOGIN, code="invalid_credentials")
    return actor, user


async def _refuse_if_locked(ctx: Context, actor: Principal, email: str) -> None:
    async with ctx.db.session() as session:
        until = await repo.locked_until(session, email)
    wait = (as_utc(until) - utcnow()).total_seconds() if until else 0
    if wait > 0:
        retry = str(math.ceil(wait))
        async with ctx.uow.write(actor, "auth.login", target=email) as tx:
            tx.outcome = "failure:locked"
        raise RateLimited(
            "Too many failed logins; try again later",
            code="login_locked",
            headers={"Retry-After": retry},
        )


async def _count_failure(ctx: Context, actor: Principal, email: str) -> None:
    settings = ctx.settings
    async with ctx.uow.write(actor, "auth.login", target=email) as tx:
        tx.outcome = "failure:invalid_credentials"
        now = utcnow()
        failures = await repo.count_failure(tx.session, email, now)
        over = failures - settings.login_max_failures
        if over >= 0:
            delay = min(settings.login_lockout_max_s, settings.login_lockout_s * 2 ** min(over, 20))
            await repo.lock(tx.session, email, now + timedelta(seconds=delay))
            tx.about.details = {"failures": failures, "locked_s": delay}


async def _issue(
    ctx: Context, tx: Tx, user: dict[str, Any], family_id: str | None, *, mfa: bool
) -> TokenResponse:
    roles = await users_repo.roles_of(tx.session, user["id"])
    claims = AdminClaims(
        sub=user["id"],
        email=user["email"],
        platform_admin=bool(user["platform_admin"]),
        orgs=roles,  # pydantic checks each value is a Role
        jti=new_id(),
        # The session: the refresh-token family, so that ending it ends its access tokens.
        sid=family_id or new_id(),
        mfa=mfa,
    )
    ttl = ctx.settings.access_token_ttl_s
    access = issue_admin_token(claims, ctx.jwt_secret, timedelta(seconds=ttl))
    refresh = None
    if family_id is not None:
        refresh = new_secret(REFRESH_PREFIX)
        now = utcnow()
        await repo.insert_refresh(
            tx.session,
            id=new_id(),
            family_id=family_id,
            user_id=user["id"],
            token_hash=sha256_hex(refresh),
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_s),
            mfa=mfa,  # a refreshed session keeps what its login proved
        )
    return TokenResponse(access_token=access, expires_in=ttl, refresh_token=refresh)


async def refresh_grant(ctx: Context, token: str, ip: str | None) -> TokenResponse:
    actor = anonymous(ip)
    reused = False
    async with ctx.uow.write(actor, "auth.refresh") as tx:
        ctx.authz.check(actor, "auth.token")
        row = await repo.refresh_by_hash(tx.session, sha256_hex(token))
        now = utcnow()
        if row is None or row["revoked_at"] is not None or as_utc(row["expires_at"]) <= now:
            raise AuthenticationFailed("Invalid or expired refresh token", code="invalid_grant")
        tx.about.target = row["user_id"]
        if row["used_at"] is not None:
            # Replay of a rotated token: assume it was stolen and end the whole session.
            await repo.revoke_family(tx.session, row["family_id"], now)
            tx.outcome, reused = "failure:refresh_reuse", True
        else:
            await repo.mark_used(tx.session, row["id"], now)
            user = await users_repo.by_id(tx.session, row["user_id"])
            if user is None:
                raise AuthenticationFailed("Invalid refresh token", code="invalid_grant")
            issued = await _issue(ctx, tx, user, family_id=row["family_id"], mfa=bool(row["mfa"]))
    if reused:
        raise AuthenticationFailed("Refresh token reused; session revoked", code="invalid_grant")
    return issued


async def admin_key_grant(ctx: Context, secret: str, ip: str | None) -> TokenResponse:
    actor = anonymous(ip)
    async with ctx.uow.write(actor, "auth.admin_key") as tx:
        ctx.authz.check(actor, "auth.token")
        key = await users_repo.admin_key_by_hash(tx.session, sha256_hex(secret))
        now = utcnow()
        if key is None or not _usable(key, now):
            raise AuthenticationFailed("Invalid admin API key", code="invalid_client")
        tx.about.target = key["id"]
        await users_repo.touch_admin_key(tx.session, key["id"], now)
        user = await users_repo.by_id(tx.session, key["user_id"])
        if user is None:
            raise AuthenticationFailed("Invalid admin API key", code="invalid_client")
        # An admin API key is a 256-bit secret made from a signed-in session: it counts as
        # the second factor (automation has no authenticator app).
        return await _issue(ctx, tx, user, family_id=None, mfa=True)


def _usable(key: dict[str, Any], now: datetime) -> bool:
    expires = key["expires_at"]
    return key["revoked_at"] is None and (expires is None or as_utc(expires) > now)


async def logout(ctx: Context, token: str, ip: str | None) -> None:
    actor = anonymous(ip)
    async with ctx.uow.write(actor, "auth.logout") as tx:
        ctx.authz.check(actor, "auth.logout")
        row = await repo.refresh_by_hash(tx.session, sha256_hex(token))
        if row is not None:
            tx.about.target = row["user_id"]
            await repo.revoke_family(tx.session, row["family_id"], utcnow())
            # Before the commit: a failure here leaves the session alive and the caller told.
            await ctx.revocations.revoke_session(row["family_id"], ctx.settings.access_token_ttl_s)


async def end_all_sessions(ctx: Context, tx: Tx, user_id: str) -> None:
    """Revokes every refresh token of the user and every access token issued until now."""
    await repo.revoke_user(tx.session, user_id, utcnow())
    await ctx.revocations.revoke_user(user_id, ctx.settings.access_token_ttl_s)
    await ctx.sessions.end_user(user_id)  # and the console's cookie sessions
    tx.emit("user.updated", None, user_id=user_id)
