"""Fixtures for the analytics tests: migrated databases on Postgres and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from aistrale_analytics.migrate import migrate_async
from aistrale_analytics.settings import Settings
from aistrale_common.db import Database
from aistrale_testkit.analytics import delete_queues
from aistrale_testkit.fixtures import Infra


async def migrated_database(url: str) -> Database:
    await migrate_async(Settings(database_url=url))
    return Database(url)


@pytest.fixture(params=["postgres", "sqlite"])
async def db(
    request: pytest.FixtureRequest, create_pg_database: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[Database]:
    if request.param == "postgres":
        url = create_pg_database("analytics")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    database = await migrated_database(url)
    yield database
    await database.close()


@pytest.fixture
async def pg_db(create_pg_database: Callable[[str], str]) -> AsyncIterator[Database]:
    database = await migrated_database(create_pg_database("analytics"))
    yield database
    await database.close()


@pytest.fixture
async def analytics_settings(
    infra: Infra, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Settings]:
    """RabbitMQ exchange and queue prefix private to this test (its queues are deleted
    afterwards); no database set."""
    test = request.node.name.replace("[", ".").replace("]", "")
    settings = Settings(
        amqp_url=infra.amqp_url,
        redis_url=infra.redis_url,
        redis_prefix=infra.redis_prefix + test + ":",
        usage_exchange=infra.name(f"{test}.usage"),
        queue_prefix=infra.name(f"{test}."),
        data_dir=tmp_path,
        environment="test",
    )
    yield settings
    queue, bodies = settings.queue_name(), settings.bodies_queue_name()
    await delete_queues(infra.amqp_url, queue, f"{queue}.dead", bodies, f"{bodies}.dead")
