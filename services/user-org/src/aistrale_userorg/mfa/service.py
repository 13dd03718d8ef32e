"""TOTP enrolment and the second factor at login (no FastAPI here).

The secret is sealed under the credentials KEK (bound to the user id), never stored or
logged in clear. A code is accepted in the current 30 s step or the one either side
(clock drift), and once only: the step used is remembered in the shared store for as long
as it could still be valid, so a code seen over a shoulder cannot be replayed.
"""

from __future__ import annotations

import secrets

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.errors import AuthenticationFailed, Conflict, PermissionDenied
from aistrale_userorg.context import Context
from aistrale_userorg.mfa import repository as repo
from aistrale_userorg.mfa.schemas import RecoveryCodes, TotpEnrolment, TotpVerify
from aistrale_userorg.principal import Principal
from aistrale_userorg.security import sha256_hex
from aistrale_userorg.util import utcnow

ISSUER = "AISTRALE"
RECOVERY_CODES = 10
STEP_S = 30


def _context(user_id: str) -> str:
    return f"totp:{user_id}"


async def enrol(ctx: Context, actor: Principal) -> TotpEnrolment:
    assert actor.id is not None
    secret = pyotp.random_base32()
    async with ctx.uow.write(actor, "self.mfa.enrol", target=actor.id) as tx:
        ctx.authz.check(actor, "self.mfa")
        current = await repo.totp_of(tx.session, actor.id)
        if current is not None and current["enabled_at"] is not None:
            raise Conflict("TOTP is already enabled", code="mfa_enabled")
        sealed = ctx.keyring.encrypt(secret, _context(actor.id))
        await repo.replace_pending(tx.session, actor.id, sealed, utcnow())
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.email or actor.id, issuer_name=ISSUER)
    return TotpEnrolment(secret=secret, otpauth_uri=uri)


async def verify(ctx: Context, actor: Principal, body: TotpVerify) -> RecoveryCodes:
    """The first good code enables TOTP and returns fresh recovery codes."""
    assert actor.id is not None
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    async with ctx.uow.write(actor, "self.mfa.verify", target=actor.id) as tx:
        ctx.authz.check(actor, "self.mfa")
        row = await repo.totp_of(tx.session, actor.id)
        if row is None or row["enabled_at"] is not None:
            raise Conflict("Enrol first (POST .../mfa/totp)", code="mfa_not_pending")
        if not await _good_code(ctx, actor.id, row["secret_sealed"], body.code):
            raise PermissionDenied("Wrong or reused code", param="code", code="invalid_mfa_code")
        await repo.enable(tx.session, actor.id, utcnow(), [sha256_hex(c) for c in codes])
    return RecoveryCodes(recovery_codes=codes)


async def enabled(session: AsyncSession, user_id: str) -> dict[str, object] | None:
    row = await repo.totp_of(session, user_id)
    return row if row is not None and row["enabled_at"] is not None else None


async def second_factor(
    ctx: Context, session: AsyncSession, user_id: str, code: str | None
) -> bool:
    """True when the user has TOTP and `code` passes (a TOTP code or a recovery code);
    False when the user has no TOTP; raises when a code is needed and missing or wrong."""
    row = await enabled(session, user_id)
    if row is None:
        return False
    if code is None:
        raise AuthenticationFailed("A one-time code is required", code="mfa_required")
    code = code.strip()
    if await _good_code(ctx, user_id, str(row["secret_sealed"]), code):
        return True
    if await repo.use_recovery_code(session, user_id, sha256_hex(code), utcnow()):
        return True
    raise AuthenticationFailed("Wrong or reused one-time code", code="invalid_mfa_code")


async def _good_code(ctx: Context, user_id: str, sealed: str, code: str) -> bool:
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(ctx.keyring.decrypt(sealed, _context(user_id)))
    now = utcnow()
    for drift in (0, -1, 1):
        at = now.timestamp() + drift * STEP_S
        if secrets.compare_digest(totp.at(at), code):
            step = int(at // STEP_S)
            # First use of this step wins; a replay within its validity is refused.
            return await ctx.kv.add(f"mfa:used:{user_id}:{step}", "1", STEP_S * 3)
    return False
