"""What a bench run leaves in the shared servers goes after it: queues, exchanges, Redis
keys (a durable queue left with 10^4 events slows every later publish and holds the
broker's file handles; `total` spend counters never expire)."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

import aio_pika

from aistrale_testkit.fixtures import delete_redis_keys
from aistrale_testkit.rabbit import delete_queues_sync, queues_for_prefix


def exchanges_of(env: dict[str, str]) -> list[str]:
    """The exchanges the services declare: usage and control, and their dead-letter ones."""
    names = [env["AISTRALE_USAGE_EXCHANGE"], env["AISTRALE_CONTROL_EXCHANGE"]]
    return [*names, *(f"{name}.dead" for name in names)]


def delete_exchanges(amqp_url: str, *names: str) -> None:
    async def delete() -> None:
        connection = await aio_pika.connect(amqp_url, timeout=10)
        async with connection:
            for name in names:  # a channel each: a refused delete closes its channel
                with contextlib.suppress(aio_pika.exceptions.AMQPError):
                    channel = await connection.channel()
                    await channel.exchange_delete(name)
                    await channel.close()

    with ThreadPoolExecutor(1) as pool, contextlib.suppress(Exception):
        pool.submit(asyncio.run, delete()).result()


def delete_broker_and_redis_state(env: dict[str, str]) -> None:
    """Everything of the run's AMQP_URL and REDIS_URL, when those are set."""
    if "AISTRALE_AMQP_URL" in env:
        queues = queues_for_prefix(env["AISTRALE_QUEUE_PREFIX"])
        delete_queues_sync(env["AISTRALE_AMQP_URL"], *queues)
        delete_exchanges(env["AISTRALE_AMQP_URL"], *exchanges_of(env))
    if "AISTRALE_REDIS_URL" in env:
        delete_redis_keys(env["AISTRALE_REDIS_URL"], env["AISTRALE_REDIS_PREFIX"])
