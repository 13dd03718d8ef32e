"""The last-used consumer under a backlog, on real RabbitMQ and Postgres or SQLite: one
statement per batch, each key at its newest time, never moved back, the queue drained."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from aistrale_common.db import Database
from aistrale_common.events import OutgoingMessage, RabbitEventBus
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.metrics import ServiceMetrics
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.userorg import Running, StartApp, delete_queues
from aistrale_userorg.keys.last_used import QUEUE, LastUsedConfig, LastUsedConsumer

N = 2000
KEYS = 4
PREFIX = "aistrale_user_org_"


@pytest.fixture(params=["postgres", "sqlite"])
def db_url(
    request: pytest.FixtureRequest, create_pg_database: Callable[[str], str], tmp_path: Path
) -> str:
    if request.param == "postgres":
        return create_pg_database("lastused")
    return f"sqlite+aiosqlite:///{tmp_path / 'user-org.db'}"


class Statements:
    """Counts what the consumer's engine sends: key updates and commits."""

    def __init__(self, db: Database) -> None:
        self.updates = 0
        self.commits = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._on_execute)
        event.listen(db.engine.sync_engine, "commit", self._on_commit)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.updates += statement.lstrip().upper().startswith("UPDATE API_KEYS")

    def _on_commit(self, _conn: Any) -> None:
        self.commits += 1


def usage(org_id: str, key_id: str, at: datetime) -> OutgoingMessage:
    item = UsageEventV1(
        request_id="r",
        org_id=org_id,
        key_id=key_id,
        endpoint="/v1/chat/completions",
        model="m",
        status=200,
        latency_ms=1.0,
        occurred_at=at,
    )
    return OutgoingMessage(item.routing_key(), item.model_dump_json().encode(), str(item.event_id))


def backlog(org_id: str, key_ids: list[str]) -> tuple[list[OutgoingMessage], dict[str, datetime]]:
    """N events over the keys at random times of the last hour, shuffled: each key's newest
    time sits anywhere in the stream, and most events arrive after a newer one."""
    now = datetime.now(UTC)
    used = [
        (key_ids[i % len(key_ids)], now - timedelta(microseconds=random.randrange(3_600_000_000)))
        for i in range(N)
    ]
    random.shuffle(used)
    newest = {k: max(at for key, at in used if key == k) for k in key_ids}
    return [usage(org_id, key, at) for key, at in used], newest


def sample(metrics: ServiceMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(PREFIX + name, labels) or 0.0


async def wait_applied(metrics: ServiceMetrics, count: int) -> None:
    async with asyncio.timeout(60):
        while sample(metrics, "last_used_events_total", outcome="applied") < count:
            await asyncio.sleep(0.05)


async def last_used(app: Running, org_id: str, key_ids: list[str]) -> dict[str, datetime]:
    shown = {}
    for key_id in key_ids:
        url = f"/admin/v1/orgs/{org_id}/keys/{key_id}"
        body = (await app.client.get(url, headers=await app.root())).json()
        shown[key_id] = datetime.fromisoformat(body["last_used_at"])
    return shown


async def test_a_backlog_is_written_in_one_statement_per_batch(
    start_app: StartApp, db_url: str, infra: Infra
) -> None:
    app = await start_app(db_url)  # the admin API, without a consumer of its own
    org_id = await app.new_org("lastused")
    key_ids = [(await app.new_key(org_id))["id"] for _ in range(KEYS)]
    prefix = infra.queue_prefix("lastused")
    config = LastUsedConfig(exchange=f"{prefix}usage", queue=f"{prefix}{QUEUE}")
    messages, newest = backlog(org_id, key_ids)
    invalid = [OutgoingMessage(f"usage.v1.{org_id}", b'{"org_id": 1}', "bad") for _ in range(3)]
    bus = await RabbitEventBus.connect(infra.amqp_url)
    db = Database(db_url)
    try:
        await bus.declare(config.subscription())
        await bus.publish_batch(config.exchange, messages[:1000] + invalid + messages[1000:])
        metrics = ServiceMetrics("user-org")
        statements = Statements(db)
        consumer = await LastUsedConsumer(db, metrics, config).subscribe(bus)
        await wait_applied(metrics, N)
        batches = sample(metrics, "last_used_batch_events_count")
        print(f"\nlast-used: {N} events in {statements.updates} statements, {batches:.0f} batches")
        # One UPDATE and one transaction per batch, not per event; batches hold every event.
        assert statements.updates == statements.commits == batches
        assert statements.updates <= N // 10
        assert sample(metrics, "last_used_batch_events_sum") == N
        assert sample(metrics, "last_used_events_total", outcome="invalid") == 3
        assert await last_used(app, org_id, key_ids) == newest

        # Older events delivered later never move a key back.
        older = [usage(org_id, k, newest[k] - timedelta(microseconds=1)) for k in key_ids]
        await bus.publish_batch(config.exchange, older)
        await wait_applied(metrics, N + KEYS)
        assert await last_used(app, org_id, key_ids) == newest

        # Everything was acked: once the consumer stops, nothing is requeued or dead.
        await consumer.stop()
        assert await bus.queue_depth(config.queue) == 0
        assert await bus.queue_depth(f"{config.queue}.dead") == 0
    finally:
        await db.close()
        await bus.close()
        await delete_queues(infra.amqp_url, [config.queue, f"{config.queue}.dead"])
