"""`aistrale-user-org serve|migrate|rotate-credentials-kek`."""

from __future__ import annotations

import asyncio
import sys

from aistrale_common.cli import run_service_cli
from aistrale_common.db import Database
from aistrale_common.logging import configure_logging
from aistrale_userorg.app import create_app
from aistrale_userorg.migrate import migrate
from aistrale_userorg.provider_credentials.rotation import ROTATION_JOB, rotate
from aistrale_userorg.provider_credentials.schemas import KekRotation
from aistrale_userorg.settings import Settings
from aistrale_userorg.uow import UnitOfWork


async def _rotate(settings: Settings) -> KekRotation:
    db = Database(settings.database_url_or_embedded())
    try:
        return await rotate(UnitOfWork(db), settings.keyring(), ROTATION_JOB)
    finally:
        await db.close()


def rotate_credentials_kek(settings: Settings) -> None:
    """Runs the rotation once; exits 1 while rows remain under a KEK that is not configured."""
    configure_logging(settings.log_level, settings.log_json)
    result = asyncio.run(_rotate(settings))
    print(result.model_dump_json())
    if result.remaining_old:
        sys.exit(1)


COMMANDS = {
    "rotate-credentials-kek": (
        "re-wrap every provider credential under AISTRALE_CREDENTIALS_KEK and exit",
        rotate_credentials_kek,
    ),
}


def main(argv: list[str] | None = None) -> None:
    run_service_cli("user-org", Settings, create_app, migrate, argv, COMMANDS)
