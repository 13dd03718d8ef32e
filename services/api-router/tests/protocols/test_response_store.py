"""The stored-responses store: one contract, on the embedded SQLite and on Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from aistrale_common.db import Database
from aistrale_router.migrate import migrate_async
from aistrale_router.protocols.responses.store import ResponseStore, StoredResponse
from aistrale_router.settings import Settings

DAY = 86_400


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, create_pg_database: Callable[[str], str]
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'api-router.db'}"
    else:
        url = create_pg_database("router")
    await migrate_async(Settings(database_url=url))
    database = Database(url)
    yield database
    await database.close()


def stored(response_id: str, org_id: str, created_at: int) -> StoredResponse:
    response = {"id": response_id, "object": "response", "output": [{"type": "message"}]}
    return StoredResponse(response_id, org_id, created_at, response, [{"role": "user"}])


async def test_a_response_is_read_back_by_its_org_only(db: Database) -> None:
    clock = Clock()
    store = ResponseStore(db, 30 * DAY, clock)
    await store.save(stored("resp_1", "org_a", int(clock.now)))
    found = await store.get("org_a", "resp_1")
    assert found is not None and found.response["id"] == "resp_1"
    assert found.history == [{"role": "user"}] and found.output == [{"type": "message"}]
    assert await store.get("org_b", "resp_1") is None
    assert not await store.delete("org_b", "resp_1")
    assert await store.delete("org_a", "resp_1")
    assert await store.get("org_a", "resp_1") is None
    assert not await store.delete("org_a", "resp_1")


async def test_expired_responses_are_gone_then_purged(db: Database) -> None:
    clock = Clock()
    store = ResponseStore(db, DAY, clock)
    await store.save(stored("resp_old", "org_a", int(clock.now) - DAY - 1))
    await store.save(stored("resp_new", "org_a", int(clock.now)))
    assert await store.get("org_a", "resp_old") is None  # past retention, not yet purged
    assert await store.purge() == 1
    assert await store.get("org_a", "resp_new") is not None
    clock.now += DAY + 1
    assert await store.purge() == 1
