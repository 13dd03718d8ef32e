"""Reading and verifying the audit log (no FastAPI here). Writing happens in uow.py."""

from __future__ import annotations

import json
from typing import Any

from aistrale_userorg.audit import repository as repo
from aistrale_userorg.audit.chain import GENESIS, row_hash
from aistrale_userorg.audit.repository import AuditFilter
from aistrale_userorg.audit.schemas import AuditRecord, ChainVerification
from aistrale_userorg.context import Context
from aistrale_userorg.principal import Principal
from aistrale_userorg.schemas import Page, page_of
from aistrale_userorg.util import as_utc


def public(row: dict[str, Any]) -> AuditRecord:
    fields = {k: row[k] for k in AuditRecord.model_fields if k in row and k != "details"}
    fields["occurred_at"] = as_utc(row["occurred_at"])
    return AuditRecord(**fields, details=json.loads(row["details"]))


async def search(
    ctx: Context, actor: Principal, f: AuditFilter, limit: int, offset: int
) -> Page[AuditRecord]:
    # Org owners read their org's log; the whole log is for platform admins.
    if f.org_id is not None:
        ctx.authz.check(actor, "audit.read", f.org_id)
    else:
        ctx.authz.check(actor, "audit.read_all")
    async with ctx.db.session() as session:
        rows = await repo.search(session, f, limit + 1, offset)
    return page_of([public(r) for r in rows], limit, offset)


async def verify(ctx: Context, actor: Principal) -> ChainVerification:
    ctx.authz.check(actor, "audit.verify")
    checked, prev, expected_seq = 0, GENESIS, 1
    async with ctx.db.session() as session:
        head_seq, head_hash = await repo.head(session)
        async for row in repo.walk(session):
            problem = _problem(row, expected_seq, prev)
            if problem is not None:
                return ChainVerification(
                    ok=False,
                    checked=checked,
                    head_seq=head_seq,
                    head_hash=head_hash,
                    first_bad_seq=expected_seq,
                    reason=problem,
                )
            checked, prev, expected_seq = checked + 1, row["hash"], expected_seq + 1
    ok = checked == head_seq and prev == head_hash
    reason = None if ok else "the newest rows do not match the chain head"
    return ChainVerification(
        ok=ok,
        checked=checked,
        head_seq=head_seq,
        head_hash=head_hash,
        first_bad_seq=None if ok else checked + 1,
        reason=reason,
    )


def _problem(row: dict[str, Any], expected_seq: int, prev: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"row {expected_seq} is missing"
    if row["prev_hash"] != prev:
        return "the link to the previous row is broken"
    if row_hash(row["seq"], prev, row) != row["hash"]:
        return "the row's content does not match its hash"
    return None
