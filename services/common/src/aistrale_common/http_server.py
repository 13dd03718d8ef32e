"""uvicorn's httptools protocol with one write per response instead of two.

uvicorn writes the status line and headers as soon as `http.response.start` is sent and the
body on `http.response.body`: two syscalls, and with TCP_NODELAY two packets, so the client
wakes on the headers and again on the body. Writes made in the same event-loop turn are
joined here and sent once at the end of the turn; a stream's chunks still leave as soon as
they are sent, one turn later at most. A response that is complete leaves at once: what
runs after it in that turn (the app's own bookkeeping, metrics, uvicorn's keep-alive
timer) does not delay the client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """Delegates everything to the real transport, except that writes wait for the turn's
    end (`close` sends what is pending first)."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        real: Any = transport
        wrapped: Any = CoalescingTransport(real, self.loop)  # duck-typed: a Transport to uvicorn
        super().connection_made(wrapped)

    def on_response_complete(self) -> None:
        transport: Any = self.transport
        if isinstance(transport, CoalescingTransport):
            transport.flush()
        super().on_response_complete()
