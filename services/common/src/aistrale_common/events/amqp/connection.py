"""One AMQP connection with one channel in confirm mode, publishing only."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import cast

from aistrale_common.events.amqp import frames as f

CHANNEL = 1


class PublishFailed(ConnectionError):
    """The broker refused (nack), closed the channel or connection, or went away."""


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str
    password: str
    vhost: str


class _Batch:
    __slots__ = ("done", "remaining")

    def __init__(self, size: int, done: asyncio.Future[None]) -> None:
        self.remaining = size
        self.done = done


class PublisherConnection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, credentials: Credentials) -> None:
        self._loop = loop
        self._credentials = credentials
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._opened: asyncio.Future[None] = loop.create_future()
        self._pending: dict[int, _Batch] = {}  # delivery tag -> its batch
        self._oldest = 1  # the lowest delivery tag not yet confirmed
        self._next_tag = 1
        self.frame_max = 131072
        self.closed = False

    async def wait_open(self) -> None:
        await self._opened

    def publish(self, payloads: list[bytes]) -> asyncio.Future[None]:
        """Writes the publish frames of a batch; the future resolves on the last confirm."""
        if self.closed or self._transport is None:
            raise PublishFailed("AMQP connection closed")
        done: asyncio.Future[None] = self._loop.create_future()
        batch = _Batch(len(payloads), done)
        for tag in range(self._next_tag, self._next_tag + len(payloads)):
            self._pending[tag] = batch
        self._next_tag += len(payloads)
        self._transport.write(b"".join(payloads))
        if not payloads:
            done.set_result(None)
        return done

    def abort(self, reason: str) -> None:
        self._fail(PublishFailed(reason))

    # -- asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop: duck-typed
        self._transport.write(f.PROTOCOL_HEADER)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        pos = 0
        try:
            while len(self._buf) - pos >= 7:
                kind, channel, size = struct.unpack_from(">BHI", self._buf, pos)
                end = pos + 7 + size
                if len(self._buf) < end + 1:
                    break
                if self._buf[end] != 0xCE:
                    raise PublishFailed("malformed AMQP frame")
                self._on_frame(kind, channel, bytes(self._buf[pos + 7 : end]))
                pos = end + 1
        except PublishFailed as exc:
            self._fail(exc)
            return
        del self._buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(PublishFailed("AMQP connection lost"))

    # -- frames -----------------------------------------------------------------------
    def _on_frame(self, kind: int, channel: int, payload: bytes) -> None:
        if kind == f.FRAME_HEARTBEAT:
            return
        if kind != f.FRAME_METHOD:
            return  # content of a returned message: we publish without `mandatory`
        ids = struct.unpack_from(">HH", payload)
        arguments = payload[4:]
        if ids == f.BASIC_ACK:
            tag, multiple = struct.unpack_from(">Q?", arguments)
            self._confirm(tag, multiple, ok=True)
        elif ids == f.BASIC_NACK:
            tag, flags = struct.unpack_from(">QB", arguments)
            self._confirm(tag, bool(flags & 1), ok=False)
        else:
            self._on_control(ids, arguments)

    def _on_control(self, ids: tuple[int, int], arguments: bytes) -> None:
        write = self._write
        if ids == f.START:
            creds = self._credentials
            response = f"\0{creds.user}\0{creds.password}".encode()
            start_ok = f.table({"product": "aistrale"}) + f.shortstr("PLAIN")
            write(f.method(0, f.START_OK, start_ok + f.longstr(response) + f.shortstr("en_US")))
        elif ids == f.TUNE:
            channel_max, frame_max, _ = struct.unpack_from(">HIH", arguments)
            self.frame_max = min(frame_max or 131072, 131072)
            # Heartbeats off: a dead connection shows as a confirm that does not come, and
            # the caller's timeout then aborts this connection (LeanPublisher).
            write(f.method(0, f.TUNE_OK, struct.pack(">HIH", channel_max or 1, self.frame_max, 0)))
            vhost = f.shortstr(self._credentials.vhost)
            write(f.method(0, f.OPEN, vhost + b"\x00\x00"))
        elif ids == f.OPEN_OK:
            write(f.method(CHANNEL, f.CHANNEL_OPEN, b"\x00"))
        elif ids == f.CHANNEL_OPEN_OK:
            write(f.method(CHANNEL, f.CONFIRM_SELECT, b"\x00"))
        elif ids == f.CONFIRM_SELECT_OK:
            if not self._opened.done():
                self._opened.set_result(None)
        elif ids in (f.CHANNEL_CLOSE, f.CLOSE):
            code = struct.unpack_from(">H", arguments)[0]
            text, _ = f.read_shortstr(arguments, 2)
            reply = f.CHANNEL_CLOSE_OK if ids == f.CHANNEL_CLOSE else f.CLOSE_OK
            write(f.method(CHANNEL if ids == f.CHANNEL_CLOSE else 0, reply))
            what = "channel" if ids == f.CHANNEL_CLOSE else "connection"
            raise PublishFailed(f"broker closed the {what}: {code} {text}")

    def _confirm(self, tag: int, multiple: bool, *, ok: bool) -> None:
        tags = range(self._oldest, tag + 1) if multiple else (tag,)
        for each in tags:
            batch = self._pending.pop(each, None)
            if batch is None or batch.done.done():
                continue
            if not ok:
                batch.done.set_exception(PublishFailed("broker refused a message (nack)"))
                continue
            batch.remaining -= 1
            if batch.remaining == 0:
                batch.done.set_result(None)
        while self._oldest < self._next_tag and self._oldest not in self._pending:
            self._oldest += 1

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(data)

    def _fail(self, exc: Exception) -> None:
        if self.closed:
            return
        self.closed = True
        if not self._opened.done():
            self._opened.set_exception(exc)
        for batch in self._pending.values():
            if not batch.done.done():
                batch.done.set_exception(exc)
        self._pending.clear()
        if self._transport is not None:
            self._transport.close()
