"""`LeanPublisher`: batches of messages, confirmed, over one reconnecting connection."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from aistrale_common.events.amqp import frames as f
from aistrale_common.events.amqp.connection import (
    CHANNEL,
    Credentials,
    PublisherConnection,
    PublishFailed,
)
from aistrale_common.events.port import OutgoingMessage

CONNECT_TIMEOUT_S = 5.0

__all__ = ["LeanPublisher", "PublishFailed"]


class LeanPublisher:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps"):
            raise ValueError(f"not an amqp:// URL: {parts.scheme}://")
        self._tls = parts.scheme == "amqps"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (5671 if self._tls else 5672)
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        self._credentials = Credentials(
            unquote(parts.username or "guest"), unquote(parts.password or "guest"), vhost
        )
        self._conn: PublisherConnection | None = None
        self._connecting: asyncio.Lock | None = None
        self._exchanges: dict[str, bytes] = {}

    async def publish_batch(self, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
        """Returns once the broker confirmed every message; raises PublishFailed (or the
        caller's timeout) otherwise. A wait that is cancelled takes the connection down with
        it: a confirm that does not come means the connection cannot be trusted."""
        conn = await self._connection()
        name = self._exchanges.get(exchange)
        if name is None:
            name = self._exchanges[exchange] = f.shortstr(exchange)
        payloads = [
            f.publish_frames(
                CHANNEL,
                conn.frame_max,
                name,
                m.routing_key,
                m.body,
                f.properties(m.message_id, m.headers),
            )
            for m in messages
        ]
        confirmed = conn.publish(payloads)
        try:
            await confirmed
        except asyncio.CancelledError:
            conn.abort("publish abandoned before its confirms")
            raise

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.abort("closed")
            self._conn = None

    async def _connection(self) -> PublisherConnection:
        conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._conn is None or self._conn.closed:
                self._conn = await self._open()
            return self._conn

    async def _open(self) -> PublisherConnection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, conn = await loop.create_connection(
                    lambda: PublisherConnection(loop, self._credentials),
                    self._host,
                    self._port,
                    ssl=ssl.create_default_context() if self._tls else None,
                )
                try:
                    await conn.wait_open()
                except BaseException:
                    conn.abort("AMQP handshake did not complete")  # not left half-open
                    raise
        except TimeoutError as exc:
            raise PublishFailed("AMQP connection not opened in time") from exc
        except OSError as exc:
            raise PublishFailed(f"AMQP connection failed: {exc}") from exc
        return conn
