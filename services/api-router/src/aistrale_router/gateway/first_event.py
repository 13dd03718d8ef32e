"""A stream's first event, awaited before anything reaches the client: an upstream that
answered 200 and then sent nothing in time, or only an error, can still be given up for
the next deployment (docs/router.md "Streaming resilience")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aistrale_router.streaming.relay import StreamRelay


async def first_event(
    chunks: AsyncIterator[bytes], relay: StreamRelay, timeout_s: float
) -> bytes | None:
    """The relay's first output, or None when there is none worth sending: nothing within
    the timeout, the stream over at once, or a failure before any upstream event."""
    try:
        async with asyncio.timeout(timeout_s):
            first = await anext(chunks)
    except (TimeoutError, StopAsyncIteration):
        return None
    if relay.error is not None and relay.first_chunk_at is None:
        return None
    return first


async def prepended(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
