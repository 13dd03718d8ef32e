"""Apply this service's migrations (the same revisions on Postgres and SQLite)."""

from __future__ import annotations

from pathlib import Path

from aistrale_common.db.migrate import upgrade_to_head, upgrade_to_head_async
from aistrale_router.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_api_router"


def migrate(settings: Settings) -> None:
    upgrade_to_head(MIGRATIONS, settings.database_url_or_embedded(), VERSION_TABLE)


async def migrate_async(settings: Settings) -> None:
    await upgrade_to_head_async(MIGRATIONS, settings.database_url_or_embedded(), VERSION_TABLE)
