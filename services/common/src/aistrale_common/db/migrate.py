"""Alembic, driven from code: every service migrates with the same runner.

Each service keeps its migrations in `<package>/migrations` with an `env.py` that calls
`run_env(target_metadata)`. The same revisions run on Postgres and on SQLite.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from aistrale_common.db.database import is_sqlite


def alembic_config(migrations_dir: Path, url: str, version_table: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["version_table"] = version_table
    if is_sqlite(url):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    return cfg


def upgrade_to_head(migrations_dir: Path, url: str, version_table: str) -> None:
    """Blocking; call from a thread when an event loop is running."""
    command.upgrade(alembic_config(migrations_dir, url, version_table), "head")


async def upgrade_to_head_async(migrations_dir: Path, url: str, version_table: str) -> None:
    await asyncio.to_thread(upgrade_to_head, migrations_dir, url, version_table)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    assert url is not None
    version_table = str(cfg.attributes.get("version_table", "alembic_version"))
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=target_metadata,
            version_table=version_table,
            literal_binds=True,
            render_as_batch=is_sqlite(url),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata, version_table))


async def _run_online(url: str, metadata: MetaData, version_table: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_migrate, metadata, version_table, is_sqlite(url))
        await conn.commit()
    await engine.dispose()


def _migrate(conn: Connection, metadata: MetaData, version_table: str, sqlite: bool) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        version_table=version_table,
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
