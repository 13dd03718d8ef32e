"""stop_task: shutdown must not hang on a task that swallowed its cancellation."""

from __future__ import annotations

import asyncio

from aistrale_common.tasks import every, stop_task


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


async def test_every_goes_on_after_a_failing_step() -> None:
    calls: list[float] = []

    async def step() -> None:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 1:
            raise RuntimeError("one bad round")

    began = asyncio.get_running_loop().time()
    task = asyncio.create_task(every(0.02, step, failure_event="t", first_after_s=0.05))
    async with asyncio.timeout(2):
        while len(calls) < 3:
            await asyncio.sleep(0.01)
    assert await stop_task(task) is True
    assert calls[0] - began >= 0.05  # the first run waits first_after_s
