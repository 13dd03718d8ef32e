"""uvicorn's httptools protocol with one write per response instead of two, and bounded
request heads.

httptools (llhttp) sets no limit on a request's head: an 8 MB header value or 20,000
headers would be buffered and handed to the app. The protocol here answers 431 (Request
Header Fields Too Large) and closes the connection once the head passes `max_header_bytes`
(request line and headers, counted as they arrive) or `max_headers` headers
(AISTRALE_MAX_HEADER_BYTES, AISTRALE_MAX_HEADERS).

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


MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200
REFUSED_LINGER_S = 1.0  # how long a refused head's connection is still read from
_431 = b'{"error":{"message":"Request header fields too large.","type":"invalid_request_error",'
_431 += b'"param":null,"code":"request_header_fields_too_large"}}'


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops and uvicorn calls send_400_response."""


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes: int = MAX_HEADER_BYTES
    max_headers: int = MAX_HEADERS
    _head_bytes = 0
    _in_head = False
    _head_refused = False

    def data_received(self, data: bytes) -> None:
        if self._head_refused:
            return  # the rest of a refused head: read and dropped (see _send_431)
        super().data_received(data)
        if self._in_head and not self._head_refused:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if len(self.headers) > self.max_headers:
            self._head_refused = True
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._head_refused:
            self._send_431()
            return
        super().send_400_response(msg)

    def _refuse_head(self) -> None:
        self._head_refused = True
        self._send_431()

    def _send_431(self) -> None:
        """Answers, then half-closes and keeps reading (and dropping) for a moment: closing
        a socket with unread bytes makes the kernel send a reset, and the client would lose
        the answer along with the connection."""
        head = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        head += b"content-type: application/json\r\nconnection: close\r\n"
        head += b"content-length: %d\r\n\r\n" % len(_431)
        transport: Any = self.transport
        transport.write(head + _431)
        if isinstance(transport, CoalescingTransport):
            transport.flush()
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(REFUSED_LINGER_S, transport.close)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        real: Any = transport
        wrapped: Any = CoalescingTransport(real, self.loop)  # duck-typed: a Transport to uvicorn
        super().connection_made(wrapped)

    def on_response_complete(self) -> None:
        transport: Any = self.transport
        if isinstance(transport, CoalescingTransport):
            transport.flush()
        super().on_response_complete()


def limited_protocol(max_header_bytes: int, max_headers: int) -> type[CoalescingHttpToolsProtocol]:
    """The protocol class uvicorn instantiates, with these limits."""
    return type(
        "LimitedHttpToolsProtocol",
        (CoalescingHttpToolsProtocol,),
        {"max_header_bytes": max_header_bytes, "max_headers": max_headers},
    )
