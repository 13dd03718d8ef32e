"""stop_task: shutdown must not hang on a task that swallowed its cancellation."""

from __future__ import annotations

import asyncio

from aistrale_common.tasks import stop_task


async def _swallows_first_cancel(swallowed: asyncio.Event) -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        swallowed.set()  # what a buggy library (or 3.11's wait_for race) does
    await asyncio.sleep(60)  # left "cancelling" with nothing to deliver it again


async def test_a_swallowed_cancellation_is_delivered_again() -> None:
    swallowed = asyncio.Event()
    task = asyncio.create_task(_swallows_first_cancel(swallowed))
    await asyncio.sleep(0)
    assert await asyncio.wait_for(stop_task(task, timeout_s=5), 3) is True
    assert swallowed.is_set()
    assert task.cancelled()


async def _ignores_cancellation(started: asyncio.Event, release: asyncio.Event) -> None:
    started.set()
    while not release.is_set():
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            continue


async def test_a_task_that_never_stops_is_abandoned_after_the_timeout() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_ignores_cancellation(started, release))
    await started.wait()
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await stop_task(task, timeout_s=0.3) is False
    assert 0.25 <= loop.time() - began < 2
    assert not task.done()
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=2)
    assert task.done()


async def test_a_task_that_failed_is_reported_not_raised() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    assert await stop_task(task) is True
    assert isinstance(task.exception(), RuntimeError)
