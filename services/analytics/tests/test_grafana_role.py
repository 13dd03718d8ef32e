"""Grafana's read-only role reads usage_events and nothing else of analytics' database."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator

import asyncpg
import pytest

from aistrale_analytics.migrate import migrate_async
from aistrale_analytics.settings import Settings
from aistrale_testkit.fixtures import Infra, admin_execute

REVISION = importlib.import_module("aistrale_analytics.migrations.versions.0003_grafana_read_only")
ROLE: str = REVISION.GRAFANA_ROLE


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture
def grafana_role(infra: Infra) -> Iterator[None]:
    """The managed role CloudNativePG creates before the migrations run (a cluster-wide name)."""
    admin_execute(
        infra.postgres_url,
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN "
        f"CREATE ROLE {ROLE} LOGIN; END IF; END $$",
    )
    yield
    with contextlib.suppress(Exception):  # still granted in a database another run keeps
        admin_execute(infra.postgres_url, f"DROP ROLE IF EXISTS {ROLE}")


@pytest.mark.usefixtures("grafana_role")
async def test_the_role_selects_usage_events_only(
    create_pg_database: Callable[[str], str],
) -> None:
    url = create_pg_database("grafana_ro")
    await migrate_async(Settings(database_url=url))
    host_url = _dsn(url).replace("postgresql://postgres@", f"postgresql://{ROLE}@")
    conn = await asyncpg.connect(host_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM usage_events") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM usage_exports")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM usage_events")
    finally:
        await conn.close()
