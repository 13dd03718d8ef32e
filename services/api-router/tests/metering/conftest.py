"""Fixtures for the usage publisher tests: a migrated outbox database, run-unique names,
and a collector that sees what reaches a durable queue, as the analytics consumer would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aistrale_common.db import Database
from aistrale_common.events import EventBus, Message, Subscription
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.events.usage_batch import unpack
from aistrale_router.migrate import migrate_async
from aistrale_router.settings import Settings
from aistrale_testkit.analytics import delete_queues
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.rabbit import queues_for_prefix


def make_event(index: int, org_id: str = "org-1") -> UsageEventV1:
    return UsageEventV1(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        request_id=f"req-{index}",
        org_id=org_id,
        key_id="key-1",
        endpoint="/v1/chat/completions",
        model="m",
        status=200,
        prompt_tokens=index,
        cost_micro_usd=index,
        latency_ms=1.0,
    )


class Collector:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.deliveries = 0
        self.changed = asyncio.Event()

    async def handle(self, message: Message) -> None:
        items = unpack(message)  # one event, or a batch of one org's
        for item in items:
            parsed = UsageEventV1.model_validate(item)
            if len(items) == 1:
                assert message.message_id == str(parsed.event_id)
            assert message.routing_key == parsed.routing_key()
            self.ids.add(str(parsed.event_id))
            self.deliveries += 1
        self.changed.set()

    async def wait_for(self, count: int, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.ids) < count:
                self.changed.clear()
                await self.changed.wait()


async def _collect(bus: EventBus, exchange: str, queue: str) -> Collector:
    collector = Collector()
    await bus.subscribe(Subscription(exchange, ("usage.v1.#",), queue), collector.handle)
    return collector


@pytest.fixture
def event() -> Callable[[int], UsageEventV1]:
    return make_event


@pytest.fixture
def collect() -> Callable[[EventBus, str, str], Awaitable[Collector]]:
    return _collect


@pytest.fixture
async def outbox_db(tmp_path: Path) -> AsyncIterator[Database]:
    """The router's embedded SQLite database, as `make run` has it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'api-router.db'}"
    await migrate_async(Settings(database_url=url))
    db = Database(url)
    yield db
    await db.close()


@pytest.fixture
async def pg_outbox_url(create_pg_database: Callable[[str], str]) -> str:
    """One migrated Postgres database, as router replicas sharing a database have it."""
    url = create_pg_database("router")
    await migrate_async(Settings(database_url=url))
    return url


@pytest.fixture
async def names(infra: Infra, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    test = request.node.name.replace("[", ".").replace("]", "")
    prefix = infra.name(f"{test}.")
    # The publisher declares analytics' queue under this prefix; the tests consume from it.
    names = {
        "amqp_url": infra.amqp_url,
        "exchange": infra.name(f"{test}.usage"),
        "prefix": prefix,
        "queue": f"{prefix}analytics.usage",
    }
    yield names
    await delete_queues(infra.amqp_url, *queues_for_prefix(prefix))
