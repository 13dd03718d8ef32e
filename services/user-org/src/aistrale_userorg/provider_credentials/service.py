"""Provider credentials (BYOK): set, list, delete, and the router's lookup (no FastAPI here).

The key is sealed (envelope AES-256-GCM, `aistrale_common.crypto`) before it reaches the
database, bound to its org and provider, and opened only for the router's internal lookup.
Neither the audit log nor any log line nor any admin answer carries it. Every change emits
`credential.updated` in the same transaction so that routers drop their cached copy.
"""

from __future__ import annotations

import re
from typing import Any

from aistrale_common.crypto import CredentialDecryptError
from aistrale_common.errors import AistraleError, InvalidRequest, NotFound
from aistrale_common.logging import get_logger
from aistrale_userorg.context import Context
from aistrale_userorg.internal.engine import read
from aistrale_userorg.orgs.service import load as load_org
from aistrale_userorg.principal import Principal
from aistrale_userorg.provider_credentials import repository as repo
from aistrale_userorg.provider_credentials import rotation
from aistrale_userorg.provider_credentials.schemas import (
    PROVIDERS,
    CredentialPublic,
    CredentialSecret,
    CredentialSet,
    KekRotation,
)
from aistrale_userorg.schemas import Page
from aistrale_userorg.uow import About
from aistrale_userorg.util import as_utc_or_none, integrity_as_conflict, new_id, utcnow

log = get_logger(__name__)
KEY_MIN_CHARS = 8  # shorter is no provider's key, and last4 would give most of it away
KEY_MAX_CHARS = 1024
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no whitespace


class CredentialUnreadable(AistraleError):
    """A stored credential this replica cannot open (its KEK is not configured)."""

    code = "credential_unreadable"


def sealing_context(org_id: str, provider: str) -> str:
    """The associated data: a sealed value copied onto another org's row does not open."""
    return f"org:{org_id}/provider:{provider}"


def check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        names = ", ".join(sorted(PROVIDERS))
        raise InvalidRequest(
            f"Unknown provider; expected one of: {names}.",
            param="provider",
            code="invalid_provider",
        )


def check_api_key(api_key: str) -> None:
    # The messages never quote the value: it is (or is meant to be) a secret.
    if not KEY_MIN_CHARS <= len(api_key) <= KEY_MAX_CHARS:
        raise InvalidRequest(
            f"api_key must be {KEY_MIN_CHARS} to {KEY_MAX_CHARS} characters.",
            param="api_key",
            code="invalid_api_key_format",
        )
    if not _KEY_CHARS.match(api_key):
        raise InvalidRequest(
            "api_key must be printable ASCII without whitespace.",
            param="api_key",
            code="invalid_api_key_format",
        )


def public(row: dict[str, Any]) -> CredentialPublic:
    fields = {k: row[k] for k in CredentialPublic.model_fields if k in row}
    for name in ("created_at", "updated_at", "rotated_at"):
        fields[name] = as_utc_or_none(row[name])
    return CredentialPublic(**fields)


async def put(
    ctx: Context, actor: Principal, org_id: str, provider: str, body: CredentialSet
) -> tuple[CredentialPublic, bool]:
    """Stores or replaces the org's key; True when it was created."""
    api_key = body.api_key.get_secret_value()
    async with ctx.uow.write(actor, "credential.put", org_id=org_id, target=provider) as tx:
        ctx.authz.check(actor, "credential.write", org_id)
        await load_org(tx.session, org_id)
        check_provider(provider)
        check_api_key(api_key)
        now = utcnow()
        values = {
            "sealed": ctx.keyring.encrypt(api_key, sealing_context(org_id, provider)),
            "kek_id": ctx.keyring.primary.id,
            "last4": api_key[-4:],
            "updated_at": now,
            "rotated_at": None,
        }
        row = await repo.get(tx.session, org_id, provider)
        created = row is None
        if row is None:
            row = {"id": new_id(), "org_id": org_id, "provider": provider}
            row |= {"created_at": now, "created_by": actor.id, **values}
            with integrity_as_conflict("The credential was set concurrently; retry.", "provider"):
                await repo.insert(tx.session, **row)
        else:
            await repo.update(tx.session, row["id"], values)
            row = {**row, **values}
        tx.about.details = {"provider": provider, "last4": values["last4"], "created": created}
        tx.emit("credential.updated", org_id, provider=provider)
    return public(row), created


async def list_for_org(ctx: Context, actor: Principal, org_id: str) -> Page[CredentialPublic]:
    ctx.authz.check(actor, "credential.read", org_id)
    async with ctx.db.session() as session:
        await load_org(session, org_id)
        rows = await repo.for_org(session, org_id)
    return Page[CredentialPublic](data=[public(r) for r in rows], has_more=False)


async def delete(ctx: Context, actor: Principal, org_id: str, provider: str) -> None:
    async with ctx.uow.write(actor, "credential.delete", org_id=org_id, target=provider) as tx:
        ctx.authz.check(actor, "credential.write", org_id)
        await load_org(tx.session, org_id)
        check_provider(provider)
        if not await repo.delete(tx.session, org_id, provider):
            raise NotFound("No credential is stored for this provider", param="provider")
        tx.about.details = {"provider": provider}
        tx.emit("credential.updated", org_id, provider=provider)


async def reveal(ctx: Context, actor: Principal, org_id: str, provider: str) -> CredentialSecret:
    """The router's lookup: the plaintext key, or 404 (also for providers we do not know,
    so that a router newer than user-org falls back to the platform key, not to errors)."""
    ctx.authz.check(actor, "internal.credentials.read")
    sealed = None
    if provider in PROVIDERS:
        sealed = await read(ctx.lookup_engine, lambda conn: repo.sealed(conn, org_id, provider))
    if sealed is None:
        raise NotFound("No credential is stored for this provider", code="credential_not_found")
    try:
        api_key = ctx.keyring.decrypt(sealed, sealing_context(org_id, provider))
    except CredentialDecryptError as exc:
        log.error("credential_unreadable", org_id=org_id, provider=provider, reason=str(exc))
        raise CredentialUnreadable("The stored credential cannot be opened.") from None
    return CredentialSecret(provider=provider, api_key=api_key)


async def rotate_kek(ctx: Context, actor: Principal) -> KekRotation:
    try:
        ctx.authz.check(actor, rotation.ACTION)
    except AistraleError as exc:  # a refused mutation is audited like every other one
        refused = About(details={"status": exc.status})
        await ctx.uow.record(actor, rotation.ACTION, f"failure:{exc.instance_code}", refused)
        raise
    return await rotation.rotate(ctx.uow, ctx.keyring, actor)
