"""What the local model is doing right now, for /ready, the banner and the logs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    DISABLED = "disabled"
    INSTALLING = "installing"  # creating the server's venv, compiling, fetching weights
    LOADING = "loading"  # the server process is up, the model is not answering yet
    READY = "ready"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass
class LocalModelStatus:
    """Written by the supervisor task only; read by request handlers (same event loop)."""

    model: str  # the models served, comma-separated (the first one is loaded at start)
    base_url: str
    state: State = State.INSTALLING
    detail: str = ""
    since: float = field(default_factory=time.monotonic)
    # While installing: how far along (0..1) and about how many seconds are left.
    progress: float | None = None
    eta_s: float | None = None
    _moved: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def move(self, state: State, detail: str = "") -> None:
        if state is not self.state:
            self.since = time.monotonic()
        self.state = state
        self.detail = detail
        if state is not State.INSTALLING:
            self.progress = self.eta_s = None
        self._moved.set()  # wakes every waiter; each then waits on the fresh event
        self._moved = asyncio.Event()

    async def wait_for(self, *states: State) -> State:
        while self.state not in states:
            await self._moved.wait()
        return self.state

    def note(self, detail: str) -> None:
        """Progress within the current state (the last line of pip's output, for instance)."""
        self.detail = detail

    def estimate(self, progress: float, eta_s: float) -> None:
        self.progress = min(max(progress, 0.0), 1.0)
        self.eta_s = max(eta_s, 0.0)

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_url": self.base_url,
            "state": self.state.value,
            "detail": self.detail,
            "for_s": round(time.monotonic() - self.since, 1),
            "progress": None if self.progress is None else round(self.progress, 2),
            "eta_s": None if self.eta_s is None else round(self.eta_s),
        }
