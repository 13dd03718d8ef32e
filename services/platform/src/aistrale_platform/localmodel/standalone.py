"""`aistrale-platform local-model`: only the local model server, for `make up` (where the
services run as separate processes). Stops the server on SIGTERM (`make down`) or Ctrl+C."""

from __future__ import annotations

import asyncio
import signal
import sys

from aistrale_platform.localmodel.status import LocalModelStatus, State
from aistrale_platform.localmodel.supervisor import new_status, supervise
from aistrale_platform.settings import Settings


def run_local_model(settings: Settings) -> None:
    asyncio.run(_local_model_only(settings))


async def _local_model_only(settings: Settings) -> None:
    """Install if needed, serve, and stop the server on SIGTERM/SIGINT (`make down`)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    status = new_status(settings)
    async with supervise(settings, status):
        waits = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(_failed(status))]
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
    if status.state is State.FAILED:
        sys.exit(f"local model failed: {status.detail}")


async def _failed(status: LocalModelStatus) -> None:
    await status.wait_for(State.FAILED)
