"""Group commit on a real database: few transactions for many concurrent submitters, each
returns only after its row is committed, and a bad item fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from aistrale_common.db import Database
from aistrale_common.events.group_commit import BatchMetrics, GroupCommit
from aistrale_common.metrics import ServiceMetrics
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.tcp_proxy import tcp_proxy

metadata = sa.MetaData()
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.CheckConstraint("id >= 0", name="ck_items_id_not_negative"),
)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, create_pg_database: Callable[[str], str]
) -> AsyncIterator[Database]:
    url = (
        f"sqlite+aiosqlite:///{tmp_path}/group.db"
        if request.param == "sqlite"
        else create_pg_database("group")
    )
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.close()


class Writer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.transactions = 0
        self.metrics = ServiceMetrics("test")
        batch = BatchMetrics.create(self.metrics, "items", "Items")
        self.group: GroupCommit[int] = GroupCommit(self.insert, 100, batch, name="items")

    async def insert(self, ids: Sequence[int]) -> None:
        self.transactions += 1
        async with self.db.transaction() as session:
            await session.execute(sa.insert(items), [{"id": i} for i in ids])

    async def submit_and_check(self, item: int) -> None:
        await self.group.submit(item)
        async with self.db.session() as session:  # another connection sees it: committed
            found = await session.scalar(sa.select(items.c.id).where(items.c.id == item))
        assert found == item

    def sample(self, name: str) -> float:
        return self.metrics.registry.get_sample_value(f"aistrale_test_items_{name}") or 0.0


async def test_concurrent_submitters_share_transactions(db: Database) -> None:
    writer = Writer(db)
    await asyncio.gather(*(writer.submit_and_check(i) for i in range(500)))
    assert writer.transactions <= 10  # 500 submitters, batches of up to 100
    assert writer.sample("batch_events_sum") == 500
    assert writer.sample("batch_events_count") == writer.transactions


async def test_a_failing_batch_is_retried_item_by_item(db: Database) -> None:
    writer = Writer(db)
    results = await asyncio.gather(
        *(writer.group.submit(i) for i in [1, 2, -3, 4, 5]), return_exceptions=True
    )
    assert [isinstance(r, sa.exc.IntegrityError) for r in results] == [0, 0, 1, 0, 0]
    async with db.session() as session:
        stored = (await session.scalars(sa.select(items.c.id).order_by(items.c.id))).all()
    assert stored == [1, 2, 4, 5]
    assert writer.transactions == 1 + 5  # the batch, then each item alone
    assert writer.sample("batch_events_count") == 0  # no batch committed whole


async def test_a_database_outage_is_waited_out_not_failed(
    infra: Infra, create_pg_database: Callable[[str], str]
) -> None:
    """Postgres away (its proxy cut) while items come in: nobody gets an error, so nothing
    would be dead-lettered; everything commits once it is back."""
    url = create_pg_database("outage")
    target = make_url(url)
    setup = Database(url)
    async with setup.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await setup.close()
    with tcp_proxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        db = Database(target.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
        writer = Writer(db)
        try:
            await writer.group.submit(0)
            proxy.cut()
            waiting = [asyncio.ensure_future(writer.group.submit(i)) for i in range(1, 50)]
            await asyncio.sleep(1.5)
            assert not any(w.done() for w in waiting)  # waiting, not failed
            proxy.restore()
            await asyncio.wait_for(asyncio.gather(*waiting), 30)
            async with db.session() as session:
                assert await session.scalar(sa.select(sa.func.count()).select_from(items)) == 50
        finally:
            await db.close()
