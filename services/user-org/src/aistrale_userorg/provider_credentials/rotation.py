"""KEK rotation: re-wrap every credential's data key under the current KEK.

Per row, a compare-and-swap (`UPDATE … WHERE id = ? AND sealed = <old>`), so replicas
running the job at once, or a PUT landing meanwhile, never lose a write; re-running is
harmless. Only 32-byte data keys are re-wrapped: the ciphertexts do not change. A row whose
KEK is not configured is left as it is and counted in `remaining_old`.
"""

from __future__ import annotations

from aistrale_common.crypto import CredentialDecryptError, KeyRing
from aistrale_common.db import Database
from aistrale_common.logging import get_logger
from aistrale_common.tasks import every
from aistrale_userorg.principal import Principal
from aistrale_userorg.provider_credentials import repository as repo
from aistrale_userorg.provider_credentials.schemas import KekRotation
from aistrale_userorg.uow import About, UnitOfWork
from aistrale_userorg.util import utcnow

log = get_logger(__name__)
ACTION = "credential.rotate_kek"
BATCH = 200
# Who the scheduled job and the CLI are in the audit log.
ROTATION_JOB = Principal(kind="service", id="system:kek-rotation")


async def rewrap_all(db: Database, keyring: KeyRing, batch: int = BATCH) -> KekRotation:
    primary = keyring.primary.id
    rotated, after = 0, ""
    while True:
        async with db.session() as session:
            rows = await repo.not_under(session, primary, after, batch)
        for credential_id, org_id, provider, sealed in rows:
            try:
                fresh = keyring.rotate(sealed)
            except CredentialDecryptError as exc:
                log.error(
                    "credential_not_rotated", org_id=org_id, provider=provider, reason=str(exc)
                )
                continue
            async with db.transaction() as session:
                rotated += await repo.swap(session, credential_id, sealed, fresh, primary, utcnow())
        if len(rows) < batch:
            break
        after = rows[-1][0]
    async with db.session() as session:
        remaining = await repo.count_not_under(session, primary)
    return KekRotation(rotated=rotated, remaining_old=remaining, kek_id=primary)


async def rotate(
    uow: UnitOfWork, keyring: KeyRing, actor: Principal, *, audit_idle: bool = True
) -> KekRotation:
    """One run, audited as one record with its counts (`audit_idle=False`: a run that found
    nothing to do leaves no record, so that the periodic job does not fill the log)."""
    result = await rewrap_all(uow.db, keyring)
    if audit_idle or result.rotated or result.remaining_old:
        about = About(details=result.model_dump())
        outcome = "success" if result.remaining_old == 0 else "failure:remaining_old"
        await uow.record(actor, ACTION, outcome, about)
    log.info("credentials_kek_rotated", **result.model_dump())
    return result


async def run_periodically(uow: UnitOfWork, keyring: KeyRing, interval_s: float) -> None:
    """The scheduled job: every `interval_s` while an old KEK is set (the first run one
    interval after startup, so that a rolling deploy has every replica on the new KEK by
    then; the CLI and the admin endpoint rotate at once)."""
    await every(
        interval_s,
        lambda: rotate(uow, keyring, ROTATION_JOB, audit_idle=False),
        failure_event="credentials_rotation_failed",  # the database may be briefly away
        first_after_s=interval_s,
    )
