"""The router's key lookup (no FastAPI here): one indexed query, no writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from aistrale_common.errors import NotFound
from aistrale_common.key_lookup import BudgetRule, KeyLookup
from aistrale_userorg.context import Context
from aistrale_userorg.internal.engine import read
from aistrale_userorg.keys import repository as keys_repo
from aistrale_userorg.keys.service import signing_context, status_of
from aistrale_userorg.principal import Principal
from aistrale_userorg.util import as_utc_or_none, utcnow

T = TypeVar("T")


async def lookup(ctx: Context, actor: Principal, key_hash: str) -> KeyLookup:
    ctx.authz.check(actor, "internal.keys.read")
    rows = await read(ctx.lookup_engine, lambda conn: keys_repo.lookup(conn, key_hash))
    if not rows:
        raise NotFound("Unknown API key", code="invalid_api_key")
    record = to_record(rows)
    sealed = rows[0].signing_secret_sealed
    if sealed is None:
        return record
    secret = ctx.keyring.decrypt(sealed, signing_context(record.key_id))
    return record.model_copy(update={"signing_secret": secret})


def to_record(rows: Sequence[Any]) -> KeyLookup:
    first = rows[0]
    budgets = [
        BudgetRule(
            scope=r.scope, scope_id=r.scope_id, limit_micro_usd=r.limit_micro_usd, period=r.period
        )
        for r in rows
        if r.scope is not None
    ]
    return KeyLookup(
        key_id=first.id,
        org_id=first.org_id,
        project_id=first.project_id,
        status=status_of(first.revoked_at, first.expires_at, utcnow()),
        expires_at=as_utc_or_none(first.expires_at),
        allowed_models=first.allowed_models,
        rpm_limit=first.rpm_limit,
        tpm_limit=first.tpm_limit,
        org_rpm_limit=first.org_rpm_limit,
        org_tpm_limit=first.org_tpm_limit,
        budgets=sorted(budgets, key=lambda b: b.scope != "org"),
        allowed_regions=first.allowed_regions,
        log_bodies=bool(first.log_bodies),
        log_retention_days=first.log_retention_days,
        tags=first.tags or [],
        org_tags=first.org_tags or [],
        queue_wait_s=_first_set(first.queue_wait_s, first.org_queue_wait_s),
        queue_priority=_first_set(first.queue_priority, first.org_queue_priority),
    )


def _first_set(own: T | None, org: T | None) -> T | None:
    """The key's own queue setting, else its org's (None: the router's model/default)."""
    return own if own is not None else org
