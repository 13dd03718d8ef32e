"""Users, the first platform admin, passwords and admin API keys (no FastAPI here)."""

from __future__ import annotations

from typing import Any

from aistrale_common.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied
from aistrale_common.logging import get_logger
from aistrale_userorg.auth.service import end_all_sessions
from aistrale_userorg.context import Context
from aistrale_userorg.principal import Principal
from aistrale_userorg.schemas import Page, page_of
from aistrale_userorg.security import (
    ADMIN_KEY_PREFIX,
    display_prefix,
    hash_password,
    new_secret,
    sha256_hex,
    verify_password,
)
from aistrale_userorg.users import repository as repo
from aistrale_userorg.users.schemas import (
    AdminKeyCreate,
    AdminKeyCreated,
    AdminKeyPublic,
    Me,
    OrgRole,
    PasswordChange,
    UserCreate,
    UserPublic,
)
from aistrale_userorg.util import integrity_as_conflict, new_id, utcnow

log = get_logger(__name__)


async def principal_for(
    ctx: Context, user_id: str, ip: str | None, *, mfa: bool = False
) -> Principal:
    async with ctx.db.session() as session:
        user = await repo.by_id(session, user_id)
        if user is None:
            raise AuthenticationFailed("The token's user no longer exists", code="invalid_token")
        roles = await repo.roles_of(session, user_id)
    return Principal(
        kind="user",
        id=user["id"],
        email=user["email"],
        platform_admin=bool(user["platform_admin"]),
        orgs=roles,  # type: ignore[arg-type]  # the column only ever holds Role values
        ip=ip,
        mfa=mfa,
    )


def public_user(row: dict[str, Any]) -> UserPublic:
    return UserPublic(
        id=row["id"],
        email=row["email"],
        platform_admin=bool(row["platform_admin"]),
        created_at=row["created_at"],
    )


async def create_user(ctx: Context, actor: Principal, body: UserCreate) -> UserPublic:
    password_hash = await hash_password(body.password, ctx.settings.bcrypt_rounds)
    async with ctx.uow.write(actor, "user.create", target=body.email) as tx:
        ctx.authz.check(actor, "user.create")
        row: dict[str, Any] = {
            "id": new_id(),
            "email": body.email,
            "password_hash": password_hash,
            "platform_admin": body.platform_admin,
            "created_at": utcnow(),
        }
        with integrity_as_conflict("A user with this email already exists", "email"):
            await repo.insert_user(tx.session, **row)
        tx.about.target = row["id"]
    return public_user(row)


async def list_users(ctx: Context, actor: Principal, limit: int, offset: int) -> Page[UserPublic]:
    ctx.authz.check(actor, "user.list")
    async with ctx.db.session() as session:
        rows = await repo.list_users(session, limit + 1, offset)
    return page_of([public_user(r) for r in rows], limit, offset)


async def me(ctx: Context, actor: Principal) -> Me:
    ctx.authz.check(actor, "self.read")
    assert actor.id is not None
    async with ctx.db.session() as session:
        row = await repo.by_id(session, actor.id)
    if row is None:
        raise NotFound("User not found")
    orgs = [OrgRole(org_id=o, role=r) for o, r in sorted(actor.orgs.items())]
    return Me(**public_user(row).model_dump(), orgs=orgs)


async def change_password(ctx: Context, actor: Principal, body: PasswordChange) -> None:
    assert actor.id is not None
    new_hash = await hash_password(body.new_password, ctx.settings.bcrypt_rounds)
    async with ctx.uow.write(actor, "self.password", target=actor.id) as tx:
        ctx.authz.check(actor, "self.password")
        row = await repo.by_id(tx.session, actor.id)
        rounds = ctx.settings.bcrypt_rounds
        if row is None or not await verify_password(
            body.current_password, row["password_hash"], rounds
        ):
            # 403, not 422: the input is well formed, the caller just failed to prove itself.
            raise PermissionDenied(
                "The current password is wrong", param="current_password", code="wrong_password"
            )
        await repo.set_password(tx.session, actor.id, new_hash)
        # Whoever knew the old password may hold a session: all of them end.
        await end_all_sessions(ctx, tx, actor.id)


async def sign_out_everywhere(ctx: Context, actor: Principal, user_id: str) -> None:
    """The user's every refresh token and access token stop working (within a second)."""
    action = "self.sessions" if user_id == actor.id else "user.sessions.revoke"
    async with ctx.uow.write(actor, action, target=user_id) as tx:
        ctx.authz.check(actor, action)
        if await repo.by_id(tx.session, user_id) is None:
            raise NotFound("User not found", param="user_id")
        await end_all_sessions(ctx, tx, user_id)


async def ensure_first_admin(ctx: Context) -> bool:
    """Creates the platform admin from the environment when none exists yet."""
    email, password = ctx.settings.admin_email, ctx.settings.admin_password
    if not email or password is None:
        return False
    async with ctx.db.session() as session:
        if await repo.any_platform_admin(session):
            return False
    body = UserCreate(email=email, password=password.get_secret_value(), platform_admin=True)
    system = Principal(kind="user", id="system:bootstrap", platform_admin=True, mfa=True)
    try:
        await create_user(ctx, system, body)
    except Conflict:
        # Another replica created it first, or the email belongs to an ordinary user (who
        # is never promoted from the environment).
        log.warning("first_admin_not_created", reason="email already registered")
        return False
    return True


def public_admin_key(row: dict[str, Any]) -> AdminKeyPublic:
    return AdminKeyPublic(**{k: row[k] for k in AdminKeyPublic.model_fields if k in row})


async def create_admin_key(ctx: Context, actor: Principal, body: AdminKeyCreate) -> AdminKeyCreated:
    assert actor.id is not None
    secret = new_secret(ADMIN_KEY_PREFIX)
    row: dict[str, Any] = {
        "id": new_id(),
        "user_id": actor.id,
        "name": body.name,
        "key_hash": sha256_hex(secret),
        "prefix": display_prefix(secret),
        "created_at": utcnow(),
        "expires_at": body.expires_at,
        "revoked_at": None,
        "last_used_at": None,
    }
    async with ctx.uow.write(actor, "self.admin_keys.create", target=row["id"]) as tx:
        ctx.authz.check(actor, "self.admin_keys")
        await repo.insert_admin_key(tx.session, **row)
    return AdminKeyCreated(**public_admin_key(row).model_dump(), key=secret)


async def list_admin_keys(
    ctx: Context, actor: Principal, limit: int, offset: int
) -> Page[AdminKeyPublic]:
    ctx.authz.check(actor, "self.admin_keys")
    assert actor.id is not None
    async with ctx.db.session() as session:
        rows = await repo.admin_keys_of(session, actor.id, limit + 1, offset)
    return page_of([public_admin_key(r) for r in rows], limit, offset)


async def revoke_admin_key(ctx: Context, actor: Principal, key_id: str) -> None:
    assert actor.id is not None
    async with ctx.uow.write(actor, "self.admin_keys.revoke", target=key_id) as tx:
        ctx.authz.check(actor, "self.admin_keys")
        if await repo.admin_key(tx.session, actor.id, key_id) is None:
            raise NotFound("Admin API key not found", param="key_id")
        await repo.revoke_admin_key(tx.session, key_id, utcnow())
