"""Real Postgres, Redis and RabbitMQ for tests.

A service that answers on 127.0.0.1 is used; otherwise it is started with testcontainers.
If neither works the run fails: tests never skip a missing dependency (CI=true or not).
Each run gets its own databases, Redis key prefix and RabbitMQ names.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest


@dataclass(frozen=True)
class Infra:
    run_id: str
    postgres_url: str  # server URL with the asyncpg driver, no database
    redis_url: str
    amqp_url: str
    queue_prefixes: list[str] = field(default_factory=list)

    def queue_prefix(self, label: str) -> str:
        """A queue-name prefix for a service process; its durable queues are deleted when
        the session ends (quorum queues left behind exhaust the broker's file handles)."""
        prefix = self.name(f"{label}.")
        self.queue_prefixes.append(prefix)
        return prefix

    @property
    def redis_prefix(self) -> str:
        return f"aistrale-test:{self.run_id}:"

    def name(self, base: str) -> str:
        """A RabbitMQ exchange or queue name private to this run."""
        return f"t{self.run_id}.{base}"


def admin_execute(server_url: str, sql: str) -> None:
    """Runs one statement on the `postgres` database, from any thread or loop."""
    import asyncpg

    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _local_or_container(port: int, start: Callable[[], str], local: str) -> str:
    if _answers("127.0.0.1", port):
        return local
    try:
        return start()
    except Exception as exc:
        ci = " (CI=true)" if os.environ.get("CI") == "true" else ""
        pytest.fail(
            f"dependency on port {port} is not running and testcontainers could not "
            f"start it{ci}: {exc}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    stack = contextlib.ExitStack()

    def start_postgres() -> str:
        from testcontainers.postgres import PostgresContainer

        pg = stack.enter_context(PostgresContainer("postgres:15", driver="asyncpg"))
        return pg.get_connection_url().rsplit("/", 1)[0]

    def start_redis() -> str:
        from testcontainers.redis import RedisContainer

        rd = stack.enter_context(RedisContainer("redis:7"))
        return f"redis://{rd.get_container_host_ip()}:{rd.get_exposed_port(6379)}/0"

    def start_rabbit() -> str:
        from testcontainers.rabbitmq import RabbitMqContainer

        mq = stack.enter_context(RabbitMqContainer("rabbitmq:3.13"))
        return f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"

    with stack:
        made = Infra(
            run_id=uuid.uuid4().hex[:10],
            postgres_url=_local_or_container(
                5432, start_postgres, "postgresql+asyncpg://postgres@127.0.0.1:5432"
            ),
            redis_url=_local_or_container(6379, start_redis, "redis://127.0.0.1:6379/0"),
            amqp_url=_local_or_container(5672, start_rabbit, "amqp://guest:guest@127.0.0.1:5672/"),
        )
        yield made
        from aistrale_testkit.rabbit import delete_queues_sync, queues_for_prefix

        for prefix in made.queue_prefixes:
            delete_queues_sync(made.amqp_url, *queues_for_prefix(prefix))
        delete_redis_keys(made.redis_url, made.redis_prefix)


def delete_redis_keys(url: str, prefix: str) -> None:
    """Budget counters of the `total` period never expire: a run removes what it wrote."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        batch = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(batch), 500):
            client.delete(*batch[start : start + 500])
    finally:
        client.close()


@pytest.fixture(scope="session")
def create_pg_database(infra: Infra) -> Iterator[Callable[[str], str]]:
    """Makes a fresh database for this run and returns its asyncpg URL; dropped at the end."""
    created: list[str] = []

    def make(label: str) -> str:
        name = f"aistrale_t_{infra.run_id}_{label}_{uuid.uuid4().hex[:6]}".lower()
        admin_execute(infra.postgres_url, f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"{infra.postgres_url}/{name}"

    yield make
    for name in created:
        admin_execute(infra.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
