"""Stopping background tasks so that shutdown cannot hang.

A single `task.cancel()` followed by `await task` hangs forever when the cancellation is
swallowed on the way, and that happens: Python 3.11's `asyncio.wait_for` drops a
cancellation that arrives while its inner awaitable completes (fixed in 3.12), and
libraries catch `CancelledError` in places. The task is then left "cancelling" in its next
`await asyncio.sleep(...)` with nothing to deliver the cancellation again. Seen in the
usage publisher's replay loop: a SIGTERM'd router never finished shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aistrale_common.logging import get_logger

log = get_logger(__name__)

RECANCEL_EVERY_S = 0.1


async def stop_task(task: asyncio.Task[Any], timeout_s: float = 10.0) -> bool:
    """Cancels `task` until it finishes, for at most `timeout_s`; True when it finished.

    A task that still runs after `timeout_s` is abandoned with a warning, so that the
    caller's own shutdown steps (persisting buffers, closing connections) still happen.
    Its exception, if any, is retrieved and logged rather than raised: the caller is
    shutting down and cannot act on it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("task_abandoned_at_shutdown", task=task.get_name())
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_EVERY_S, remaining))
    if not task.cancelled():
        with contextlib.suppress(asyncio.CancelledError):
            exc = task.exception()
            if exc is not None:
                log.warning("task_failed_at_shutdown", task=task.get_name(), error=repr(exc))
    return True


async def stop_tasks(tasks: list[asyncio.Task[Any]], timeout_s: float = 10.0) -> None:
    await asyncio.gather(*(stop_task(task, timeout_s) for task in tasks))


async def every(
    interval_s: float,
    step: Callable[[], Awaitable[object]],
    *,
    failure_event: str,
    first_after_s: float = 0.0,
) -> None:
    """Runs `step` every `interval_s` until cancelled (start it as a task, end it with
    stop_task). A failing step is logged under `failure_event` and the loop goes on: one
    bad round, a dependency away or a bug, must not end the job until the next restart."""
    await asyncio.sleep(first_after_s)
    while True:
        try:
            await step()
        except Exception:
            log.warning(failure_event, exc_info=True)
        await asyncio.sleep(interval_s)
