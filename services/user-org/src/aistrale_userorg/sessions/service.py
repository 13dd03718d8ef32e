"""Session sign-in and sign-out, audited like the token endpoint (no FastAPI here)."""

from __future__ import annotations

from aistrale_common.errors import AuthenticationFailed
from aistrale_common.sessions import SessionRecord
from aistrale_common.sessions.manager import NewSession
from aistrale_userorg.auth import repository as auth_repo
from aistrale_userorg.auth.service import check_password, second_factor_failed
from aistrale_userorg.context import Context
from aistrale_userorg.mfa import service as mfa_service
from aistrale_userorg.principal import Principal, anonymous
from aistrale_userorg.users import repository as users_repo
from aistrale_userorg.users import service as users


async def login(
    ctx: Context, email: str, password: str, ip: str | None, code: str | None = None
) -> NewSession:
    """The token endpoint's checks (throttle, lockout, second factor), then a session."""
    actor, user = await check_password(ctx, email, password, ip)
    try:
        async with ctx.uow.write(actor, "auth.login", target=user["id"]) as tx:
            ctx.authz.check(actor, "auth.token")
            tx.about.details = {"via": "session"}
            mfa = await mfa_service.second_factor(ctx, tx.session, user["id"], code)
            await auth_repo.clear_failures(tx.session, user["email"])
            roles = await users_repo.roles_of(tx.session, user["id"])
    except AuthenticationFailed:
        await second_factor_failed(ctx, actor, user["email"], ip, code)
        raise
    return await ctx.sessions.create(
        user["id"],
        user["email"],
        bool(user["platform_admin"]),
        roles,  # type: ignore[arg-type]  # the column only ever holds Role values
        mfa=mfa,
    )


async def principal_of(
    ctx: Context, session_id: str, record: SessionRecord, ip: str | None
) -> Principal:
    """The same principal a bearer token of this user resolves to: roles from the database,
    copied into the session for analytics."""
    principal = await users.principal_for(ctx, record.user_id, ip, mfa=record.mfa)
    await ctx.sessions.refresh_roles(
        session_id, record, dict(principal.orgs), principal.platform_admin
    )
    return principal


async def logout(ctx: Context, session_id: str, record: SessionRecord, ip: str | None) -> None:
    await ctx.sessions.end(session_id)
    actor = anonymous(ip, record.email)
    async with ctx.uow.write(actor, "auth.logout", target=record.user_id) as tx:
        ctx.authz.check(actor, "auth.logout")
        tx.about.details = {"via": "session"}
