"""user-org fixtures: a migrated database (Postgres or SQLite) and the app in process with
its lifespan running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from aistrale_common.events import EventBus
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.userorg import Running, StartApp, make_settings
from aistrale_userorg.app import create_app
from aistrale_userorg.migrate import migrate_async


@pytest.fixture
async def start_app(infra: Infra, tmp_path: Path) -> AsyncIterator[StartApp]:
    """Starts the app (lifespan included) on the given database; stopped after the test."""
    managers: list[LifespanManager] = []
    clients: list[httpx.AsyncClient] = []

    async def start(database_url: str, *, bus: EventBus | None = None, **extra: Any) -> Running:
        settings = make_settings(infra, tmp_path, database_url, **extra)
        await migrate_async(settings)
        app = create_app(settings, bus=bus)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        managers.append(manager)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://user-org"
        )
        clients.append(client)
        return Running(app=app, settings=settings, client=client)

    yield start
    for client in clients:
        await client.aclose()
    for manager in reversed(managers):
        await manager.__aexit__(None, None, None)


@pytest.fixture
def pg_url(create_pg_database: Callable[[str], str]) -> str:
    return create_pg_database("userorg")


@pytest.fixture
async def pg_app(start_app: StartApp, pg_url: str) -> Running:
    return await start_app(pg_url)
