"""API keys: create, list, read, update, revoke (no FastAPI here).

An `expires_at` in the past is accepted: setting it is how a key is expired right now.

Keys are never deleted: revoking keeps the row so that the router (and the audit log) can
still say which key it was. Every change that matters to routers emits a control event in
the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.errors import NotFound
from aistrale_userorg.changes import audit_details, created_details
from aistrale_userorg.context import Context
from aistrale_userorg.keys import repository as repo
from aistrale_userorg.keys.schemas import KeyCreate, KeyCreated, KeyPublic, KeyStatus, KeyUpdate
from aistrale_userorg.orgs.service import load as load_org
from aistrale_userorg.principal import Principal
from aistrale_userorg.schemas import Page, page_of
from aistrale_userorg.security import (
    API_KEY_PREFIX,
    SIGNING_PREFIX,
    display_prefix,
    new_secret,
    sha256_hex,
)
from aistrale_userorg.util import as_utc, as_utc_or_none, new_id, utcnow


def status_of(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> KeyStatus:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and as_utc(expires_at) <= now:
        return "expired"
    return "active"


def public(row: dict[str, Any]) -> KeyPublic:
    fields = {k: row[k] for k in KeyPublic.model_fields if k in row}
    for name in ("created_at", "expires_at", "revoked_at", "last_used_at"):
        fields[name] = as_utc_or_none(row[name])
    fields["tags"] = row.get("tags") or []
    return KeyPublic(**fields, status=status_of(row["revoked_at"], row["expires_at"], utcnow()))


async def create(ctx: Context, actor: Principal, org_id: str, body: KeyCreate) -> KeyCreated:
    secret = new_secret(API_KEY_PREFIX)
    signing = new_secret(SIGNING_PREFIX) if body.require_signature else None
    key_id = new_id()
    row = {
        **body.model_dump(exclude={"require_signature"}),
        "id": key_id,
        "org_id": org_id,
        "key_hash": sha256_hex(secret),
        "signing_secret_sealed": sealed_signing_secret(ctx, key_id, signing),
        "tags": body.tags or None,
        "prefix": display_prefix(secret),
        "created_by": actor.id,
        "created_at": utcnow(),
        "revoked_at": None,
        "last_used_at": None,
    }
    async with ctx.uow.write(actor, "key.create", org_id=org_id) as tx:
        ctx.authz.check(actor, "key.create", org_id)
        await load_org(tx.session, org_id)
        await repo.insert(tx.session, **row)
        tx.about.target = row["id"]
        tx.about.details = created_details(row)
    return KeyCreated(**public(row).model_dump(), key=secret, signing_secret=signing)


def signing_context(key_id: str) -> str:
    return f"key-signing:{key_id}"


def sealed_signing_secret(ctx: Context, key_id: str, secret: str | None) -> str | None:
    return None if secret is None else ctx.keyring.encrypt(secret, signing_context(key_id))


async def list_keys(
    ctx: Context, actor: Principal, org_id: str, limit: int, offset: int
) -> Page[KeyPublic]:
    ctx.authz.check(actor, "key.read", org_id)
    async with ctx.db.session() as session:
        await load_org(session, org_id)
        rows = await repo.page(session, org_id, limit + 1, offset)
    return page_of([public(r) for r in rows], limit, offset)


async def _load(session: AsyncSession, org_id: str, key_id: str) -> dict[str, Any]:
    await load_org(session, org_id)
    row = await repo.get(session, org_id, key_id)
    if row is None:
        raise NotFound("API key not found", param="key_id")
    return row


async def get(ctx: Context, actor: Principal, org_id: str, key_id: str) -> KeyPublic:
    ctx.authz.check(actor, "key.read", org_id)
    async with ctx.db.session() as session:
        return public(await _load(session, org_id, key_id))


async def update(
    ctx: Context, actor: Principal, org_id: str, key_id: str, body: KeyUpdate
) -> KeyPublic:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        del changes["name"]  # a name cannot be removed; null means "unchanged"
    if "tags" in changes:
        changes["tags"] = changes["tags"] or None  # stored as null, shown as []
    async with ctx.uow.write(actor, "key.update", org_id=org_id, target=key_id) as tx:
        ctx.authz.check(actor, "key.read", org_id)
        row = await _load(tx.session, org_id, key_id)
        ctx.authz.check(actor, "key.update", org_id, {"created_by": row["created_by"]})
        await repo.update(tx.session, key_id, changes)
        tx.about.details = audit_details(changes)
        # Expired from now on: announced like a revocation, which routers apply even when
        # they cannot ask user-org (a mere change they may serve from cache for a while).
        expires = changes.get("expires_at")
        ended = expires is not None and as_utc(expires) <= utcnow()
        tx.emit("key.revoked" if ended else "key.updated", org_id, key_id, row["key_hash"])
    return public({**row, **changes})


async def revoke(ctx: Context, actor: Principal, org_id: str, key_id: str) -> None:
    async with ctx.uow.write(actor, "key.revoke", org_id=org_id, target=key_id) as tx:
        ctx.authz.check(actor, "key.read", org_id)
        row = await _load(tx.session, org_id, key_id)
        ctx.authz.check(actor, "key.revoke", org_id, {"created_by": row["created_by"]})
        if row["revoked_at"] is None:
            await repo.update(tx.session, key_id, {"revoked_at": utcnow()})
        # Emitted even when already revoked: a retried DELETE re-announces it, harmlessly.
        tx.emit("key.revoked", org_id, key_id, row["key_hash"])
