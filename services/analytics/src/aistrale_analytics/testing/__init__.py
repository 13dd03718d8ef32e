"""Helpers for tests of analytics and of its producers: events from the shared schema."""

import asyncio
import contextlib

import aio_pika

CLEANUP_TIMEOUT_S = 5.0


async def delete_queues(amqp_url: str, *queues: str) -> None:
    """Best effort, at teardown: every durable quorum queue a test leaves behind holds file
    handles in the shared broker until it runs out of them."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLEANUP_TIMEOUT_S):
            connection = await aio_pika.connect(amqp_url, timeout=CLEANUP_TIMEOUT_S)
            async with connection:
                channel = await connection.channel()
                for queue in queues:
                    await channel.queue_delete(queue)
