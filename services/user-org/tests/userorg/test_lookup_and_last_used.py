"""The lookup's cost in queries, and keys' last-used time from usage events."""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from aistrale_common.events import OutgoingMessage, RabbitEventBus
from aistrale_common.events.schemas import UsageEventV1
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.userorg import Running, StartApp, delete_queues, last_used_queues
from aistrale_userorg.internal import service
from aistrale_userorg.principal import SERVICE

LOOKUPS = 100


async def test_a_lookup_is_one_query_on_postgres(pg_app: Running) -> None:
    """The router's hot dependency: a key with an org and a key budget, tags, residency and
    logging settings is still one indexed query (policy and serialisation aside). Its time is
    printed, not asserted: the machine is shared, and speed claims live in `make bench`."""
    app = pg_app
    org_id = await app.new_org("perf")
    key = await app.new_key(org_id)
    await app.client.put(
        f"/admin/v1/orgs/{org_id}/budget",
        json={"limit_micro_usd": 10, "period": "day"},
        headers=await app.root(),
    )
    digest = hashlib.sha256(key["key"].encode()).hexdigest()
    statements: list[str] = []

    def counted(conn: object, cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = app.ctx.lookup_engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        samples = []
        for _ in range(LOOKUPS):
            start = time.perf_counter()
            record = await service.lookup(app.ctx, SERVICE, digest)
            record.model_dump_json()
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    assert len(statements) == LOOKUPS, statements[:3]
    assert [b.scope for b in record.budgets] == ["org"] and record.org_id == org_id
    samples.sort()
    p50, p99 = statistics.median(samples), samples[int(LOOKUPS * 0.99)]
    print(f"\nkey lookup server time on Postgres: p50={p50:.3f} ms p99={p99:.3f} ms")


async def test_usage_events_move_last_used_forward(
    start_app: StartApp, pg_url: str, infra: Infra
) -> None:
    app = await start_app(pg_url, last_used_consumer=True)
    try:
        await _last_used_moves_forward(app, infra)
    finally:
        await delete_queues(infra.amqp_url, last_used_queues(app.settings))


async def _last_used_moves_forward(app: Running, infra: Infra) -> None:
    org_id = await app.new_org("used")
    key = await app.new_key(org_id)
    assert key["last_used_at"] is None
    bus = await RabbitEventBus.connect(infra.amqp_url)
    newer = datetime.now(UTC).replace(microsecond=0)
    events = [
        UsageEventV1(
            request_id="r1",
            org_id=org_id,
            key_id=key["id"],
            endpoint="/v1/chat",
            model="m",
            status=200,
            latency_ms=1.0,
            occurred_at=newer,
        ),
        # Older and later-delivered: must not move the time back.
        UsageEventV1(
            request_id="r2",
            org_id=org_id,
            key_id=key["id"],
            endpoint="/v1/chat",
            model="m",
            status=200,
            latency_ms=1.0,
            occurred_at=newer - timedelta(hours=1),
        ),
    ]
    try:
        await bus.publish_batch(
            app.settings.usage_exchange,
            [
                OutgoingMessage(e.routing_key(), e.model_dump_json().encode(), str(e.event_id))
                for e in events
            ],
        )
    finally:
        await bus.close()
    url = f"/admin/v1/orgs/{org_id}/keys/{key['id']}"
    async with asyncio.timeout(15):
        while True:
            shown = (await app.client.get(url, headers=await app.root())).json()
            if shown["last_used_at"] is not None:
                break
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # let the older event arrive too
    shown = (await app.client.get(url, headers=await app.root())).json()
    assert datetime.fromisoformat(shown["last_used_at"]) == newer
