"""Control events: written with the change, relayed to RabbitMQ, never lost while it is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlparse

import pytest

from aistrale_common.events import Message, RabbitEventBus, Subscription
from aistrale_common.events.schemas import ControlEvent
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.tcp_proxy import TcpProxy, tcp_proxy
from aistrale_testkit.userorg import Running, StartApp
from aistrale_userorg.outbox import repository as outbox_repo

WAIT_S = 30.0


class Listener:
    """A router stand-in: its own exclusive queue on the control exchange."""

    def __init__(self) -> None:
        self.events: list[ControlEvent] = []
        self.routing_keys: list[str] = []
        self.changed = asyncio.Event()

    async def on_message(self, message: Message) -> None:
        self.events.append(ControlEvent.model_validate_json(message.body))
        self.routing_keys.append(message.routing_key)
        self.changed.set()

    async def wait_for(self, count: int, timeout: float = WAIT_S) -> list[ControlEvent]:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.events


@pytest.fixture
async def listener(infra: Infra) -> AsyncIterator[Listener]:
    bus = await RabbitEventBus.connect(infra.amqp_url)
    found = Listener()
    await bus.subscribe(Subscription(infra.name("control"), ("#",)), found.on_message)
    yield found
    await bus.close()


@pytest.fixture
def rabbit_proxy(infra: Infra) -> Iterator[TcpProxy]:
    parsed = urlparse(infra.amqp_url)
    with tcp_proxy(parsed.hostname or "127.0.0.1", parsed.port or 5672) as proxy:
        yield proxy


async def test_every_change_publishes_its_event(pg_app: Running, listener: Listener) -> None:
    app = pg_app
    headers = await app.root()
    org_id = await app.new_org("events")
    key = await app.new_key(org_id)
    key_url = f"/admin/v1/orgs/{org_id}/keys/{key['id']}"
    await app.client.patch(key_url, json={"rpm_limit": 5}, headers=headers)
    await app.client.put(
        f"/admin/v1/orgs/{org_id}/budget",
        json={"limit_micro_usd": 10, "period": "total"},
        headers=headers,
    )
    await app.client.patch(f"/admin/v1/orgs/{org_id}", json={"tpm_limit": 7}, headers=headers)
    await app.client.delete(key_url, headers=headers)

    events = await listener.wait_for(4)
    assert [e.type for e in events] == [
        "key.updated",
        "budget.updated",
        "org.updated",
        "key.revoked",
    ]
    assert listener.routing_keys == [e.type for e in events]
    assert all(e.org_id == org_id for e in events)
    revoked = events[-1]
    assert revoked.key_id == key["id"] and revoked.key_hash is not None
    # The relay marks a row sent after the broker's confirm, a moment after delivery.
    async with asyncio.timeout(10):
        while True:
            async with app.ctx.db.session() as session:
                if await outbox_repo.pending(session) == 0:
                    break
            await asyncio.sleep(0.05)


async def test_keys_that_stop_working_are_announced_as_revoked(
    pg_app: Running, listener: Listener
) -> None:
    """An org deleted, or a key expired at once: routers must refuse those keys even when
    they cannot ask user-org, so each is announced as `key.revoked`, not a mere change."""
    headers = await pg_app.root()
    org_id = await pg_app.new_org("ending")
    first, second = await pg_app.new_key(org_id), await pg_app.new_key(org_id)
    expired = {"expires_at": "2020-01-01T00:00:00Z"}
    response = await pg_app.client.patch(
        f"/admin/v1/orgs/{org_id}/keys/{first['id']}", json=expired, headers=headers
    )
    assert response.status_code == 200
    assert (await pg_app.client.delete(f"/admin/v1/orgs/{org_id}", headers=headers)).is_success
    events = [(e.type, e.key_id) for e in await listener.wait_for(4)]
    assert events[0] == ("key.revoked", first["id"])  # the expiry
    deleted = [("key.revoked", first["id"]), ("key.revoked", second["id"])]
    assert sorted(events[1:3], key=str) == sorted(deleted, key=str)
    assert events[3] == ("org.updated", None)
    assert all(e.key_hash for e in listener.events[:3])


async def test_events_survive_a_rabbitmq_outage(
    start_app: StartApp, pg_url: str, rabbit_proxy: TcpProxy, listener: Listener
) -> None:
    app = await start_app(
        pg_url,
        amqp_url=f"amqp://guest:guest@127.0.0.1:{rabbit_proxy.port}/",
        outbox_publish_timeout_s=1.0,
    )
    headers = await app.root()
    org_id = await app.new_org("outage")
    key = await app.new_key(org_id)

    rabbit_proxy.cut()
    response = await app.client.delete(f"/admin/v1/orgs/{org_id}/keys/{key['id']}", headers=headers)
    assert response.status_code == 204  # the write does not wait for the broker
    await asyncio.sleep(1.5)
    async with app.ctx.db.session() as session:
        assert await outbox_repo.pending(session) == 1
    assert listener.events == []

    rabbit_proxy.restore()
    events = await listener.wait_for(1)
    assert events[0].type == "key.revoked" and events[0].key_id == key["id"]
    async with asyncio.timeout(10):
        while True:
            async with app.ctx.db.session() as session:
                if await outbox_repo.pending(session) == 0:
                    break
            await asyncio.sleep(0.1)


async def test_a_failed_write_leaves_no_event(pg_app: Running, listener: Listener) -> None:
    headers = await pg_app.root()
    missing = await pg_app.client.delete("/admin/v1/orgs/nope/keys/nokey", headers=headers)
    assert missing.status_code == 404
    await asyncio.sleep(0.5)
    async with pg_app.ctx.db.session() as session:
        assert await outbox_repo.pending(session) == 0
    assert listener.events == []
