"""The router's end of a graceful shutdown (docs/decisions/router-graceful-shutdown.md).

When the server stops accepting (SIGTERM, `Drain.begin`), requests in flight get
`grace_s` to finish. Then the cutoff passes: each stream still running is ended with an
explicit SSE error event and `[DONE]`, each request still waiting for its answer gets a 503,
and both are metered as `server_shutting_down`, before the usage publisher flushes.
"""

from __future__ import annotations

import asyncio

from aistrale_common.errors import ServiceUnavailable

SHUTTING_DOWN = "server_shutting_down"


def shutting_down() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The server is shutting down and ended this request; retry it.",
        code=SHUTTING_DOWN,
        headers={"Retry-After": "1"},
    )


class Cutoff:
    def __init__(self, grace_s: float) -> None:
        self._grace_s = grace_s
        self._passed: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def passed(self) -> bool:
        return self._passed is not None and self._passed.done()

    def future(self) -> asyncio.Future[None]:
        """Done when the cutoff passes: one future every request in flight may wait on."""
        if self._passed is None:
            self._passed = asyncio.get_running_loop().create_future()
        return self._passed

    def begin(self) -> None:
        """The server stopped accepting: the grace starts now."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._grace_s, self.cut)

    def cut(self) -> None:
        passed = self.future()
        if not passed.done():
            passed.set_result(None)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
