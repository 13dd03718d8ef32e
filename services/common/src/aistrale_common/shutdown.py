"""Graceful shutdown as the app sees it, and the server that tells it.

On SIGTERM uvicorn stops accepting connections, then waits for the requests in flight and
cancels whatever still runs after `timeout_graceful_shutdown`: a cancelled stream just stops,
mid-body. The app is told nothing until every connection is gone (the lifespan shutdown).
`DrainingServer` tells it at the start instead, through each app's `Drain`
(`app_drain(app)`, made by `build_app`), so that the app can end its own long
requests cleanly before the grace is over; uvicorn's own timeout is set CUT_MARGIN_S later
and is only the backstop (docs/decisions/router-graceful-shutdown.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from socket import socket

import uvicorn
from starlette.types import ASGIApp

from aistrale_common.http_server import MAX_HEADER_BYTES, MAX_HEADERS, limited_protocol
from aistrale_common.internal_client import SERVER_KEEP_ALIVE_S

# After the app's grace: time for the requests it ended to send their last bytes and close.
CUT_MARGIN_S = 5.0


class Drain:
    """Whether the server has stopped accepting; `on_begin` callbacks run once, at that
    moment, in the event loop."""

    def __init__(self) -> None:
        self.begun = False
        self._callbacks: list[Callable[[], None]] = []

    def on_begin(self, callback: Callable[[], None]) -> None:
        if self.begun:  # subscribed after the server began to stop: it is already on
            callback()
            return
        self._callbacks.append(callback)

    def begin(self) -> None:
        if self.begun:
            return
        self.begun = True
        for callback in self._callbacks:
            callback()


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drains: Sequence[Drain]) -> None:
        super().__init__(config)
        self._drains = list(drains)

    async def shutdown(self, sockets: list[socket] | None = None) -> None:
        for drain in self._drains:
            drain.begin()
        await super().shutdown(sockets)


def server_config(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    grace_s: float,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_headers: int = MAX_HEADERS,
) -> uvicorn.Config:
    """What every AISTRALE server runs with: our HTTP protocol (bounded request heads: 431
    past the limits), our logging, and uvicorn's graceful timeout just past the app's own
    grace."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
        timeout_graceful_shutdown=math.ceil(grace_s + CUT_MARGIN_S),
        http=limited_protocol(max_header_bytes, max_headers),
    )
