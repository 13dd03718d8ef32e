"""All SQL of MFA: the TOTP secret and the recovery codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.tables import mfa_recovery_codes, user_totp


async def totp_of(session: AsyncSession, user_id: str) -> dict[str, Any] | None:
    query = sa.select(user_totp).where(user_totp.c.user_id == user_id)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def replace_pending(session: AsyncSession, user_id: str, sealed: str, at: datetime) -> None:
    await session.execute(sa.delete(user_totp).where(user_totp.c.user_id == user_id))
    await session.execute(
        sa.insert(user_totp).values(user_id=user_id, secret_sealed=sealed, created_at=at)
    )


async def enable(session: AsyncSession, user_id: str, at: datetime, code_hashes: list[str]) -> None:
    await session.execute(
        sa.update(user_totp).where(user_totp.c.user_id == user_id).values(enabled_at=at)
    )
    await session.execute(
        sa.delete(mfa_recovery_codes).where(mfa_recovery_codes.c.user_id == user_id)
    )
    rows = [{"id": h[:36], "user_id": user_id, "code_hash": h} for h in code_hashes]
    await session.execute(sa.insert(mfa_recovery_codes), rows)


async def use_recovery_code(
    session: AsyncSession, user_id: str, code_hash: str, at: datetime
) -> bool:
    """Marks the code used; False when it is not the user's or was used already."""
    result = await session.execute(
        sa.update(mfa_recovery_codes)
        .where(
            mfa_recovery_codes.c.user_id == user_id,
            mfa_recovery_codes.c.code_hash == code_hash,
            mfa_recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
