"""The database port: every service's migrations and queries behave the same on SQLite and
Postgres."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from aistrale_analytics.migrate import MIGRATIONS as ANALYTICS_MIGRATIONS
from aistrale_analytics.tables import metadata as analytics_tables
from aistrale_common.db import Database
from aistrale_common.db.migrate import upgrade_to_head_async
from aistrale_router.migrate import MIGRATIONS as ROUTER_MIGRATIONS
from aistrale_router.tables import metadata as router_tables
from aistrale_userorg.migrate import MIGRATIONS as USERORG_MIGRATIONS
from aistrale_userorg.tables import metadata as userorg_tables

SERVICES = {
    "user-org": (USERORG_MIGRATIONS, "alembic_version_user_org"),
    "api-router": (ROUTER_MIGRATIONS, "alembic_version_api_router"),
    "analytics": (ANALYTICS_MIGRATIONS, "alembic_version_analytics"),
}
TABLES = {"user-org": userorg_tables, "api-router": router_tables, "analytics": analytics_tables}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, create_pg_database: Callable[[str], str]
) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/contract.db"
    return create_pg_database("contract")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.close()


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_migrations_apply_and_are_idempotent(database: Database, service: str) -> None:
    migrations, version_table = SERVICES[service]
    await upgrade_to_head_async(migrations, database.url, version_table)
    await upgrade_to_head_async(migrations, database.url, version_table)
    async with database.session() as session:
        version = (
            await session.execute(sa.text(f"SELECT version_num FROM {version_table}"))
        ).scalar_one()
    assert version


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_tables_modules_match_the_migrations(database: Database, service: str) -> None:
    """The queries are built from tables.py; the migrations make the schema: no drift."""
    migrations, version_table = SERVICES[service]
    await upgrade_to_head_async(migrations, database.url, version_table)

    def differences(conn: sa.Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"version_table": version_table})
        return list(compare_metadata(context, TABLES[service]))

    async with database.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_transaction_commits_and_rolls_back(database: Database) -> None:
    migrations, version_table = SERVICES["user-org"]
    await upgrade_to_head_async(migrations, database.url, version_table)
    from aistrale_userorg.tables import orgs

    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    async with database.transaction() as session:
        await session.execute(sa.insert(orgs).values(id=kept, name="kept", created_at=now))
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await session.execute(sa.insert(orgs).values(id=dropped, name="x", created_at=now))
            raise RuntimeError("roll back")
    async with database.session() as session:
        ids = (await session.execute(sa.select(orgs.c.id))).scalars().all()
    assert ids == [kept]


async def test_unique_constraint_raises_integrity_error(database: Database) -> None:
    migrations, version_table = SERVICES["user-org"]
    await upgrade_to_head_async(migrations, database.url, version_table)
    from aistrale_userorg.tables import orgs

    now = datetime.now(UTC)
    async with database.transaction() as session:
        await session.execute(sa.insert(orgs).values(id="a", name="same", created_at=now))
    with pytest.raises(sa.exc.IntegrityError):
        async with database.transaction() as session:
            await session.execute(sa.insert(orgs).values(id="b", name="same", created_at=now))


async def test_ping(database: Database) -> None:
    await database.ping()
