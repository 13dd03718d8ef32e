"""RabbitMQ housekeeping for tests.

Every durable quorum queue a test leaves behind holds file handles in the shared broker
until it runs out of them, so tests delete the queues they declare.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

import aio_pika

CLEANUP_TIMEOUT_S = 5.0


async def delete_queues(amqp_url: str, *queues: str) -> None:
    """Best effort, at teardown; a queue that does not exist is fine."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLEANUP_TIMEOUT_S):
            connection = await aio_pika.connect(amqp_url, timeout=CLEANUP_TIMEOUT_S)
            async with connection:
                channel = await connection.channel()
                for queue in queues:
                    await channel.queue_delete(queue)


def delete_queues_sync(amqp_url: str, *queues: str) -> None:
    """The same from synchronous code, whether or not an event loop runs in this thread."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, delete_queues(amqp_url, *queues)).result()


def queues_for_prefix(prefix: str) -> tuple[str, ...]:
    """The durable queues a router or analytics process declares under a queue prefix."""
    return (
        f"{prefix}analytics.usage",
        f"{prefix}analytics.usage.dead",
        f"{prefix}analytics.bodies",  # request bodies (the router declares it too)
        f"{prefix}analytics.bodies.dead",
        f"{prefix}user-org.key-last-used",
        f"{prefix}user-org.key-last-used.dead",
    )
