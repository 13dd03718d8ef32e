"""`PipelinedRedis`: calls and Lua scripts over one pipelined connection."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aistrale_common.resp.codec import encode
from aistrale_common.resp.connection import RespConnection


class PipelinedRedis:
    def __init__(self, url: str, *, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"not a redis:// URL: {parts.scheme}://")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._tls = parts.scheme == "rediss"
        self._auth = [unquote(x) for x in (parts.username, parts.password) if x]
        db = parts.path.strip("/")
        self._db = int(db) if db else 0
        self._timeout_s = timeout_s
        self._conn: RespConnection | None = None
        self._connecting: asyncio.Future[RespConnection] | None = None
        self._scripts: dict[str, str] = {}  # sha1 -> source, loaded again after a restart

    async def call(self, *args: Any) -> Any:
        conn = self._conn if self._conn is not None and not self._conn.closed else None
        if conn is None:
            conn = await self._connect()
        waiter = conn.call(encode(args))
        timer = asyncio.get_running_loop().call_later(self._timeout_s, conn.timed_out)
        try:
            return await waiter
        finally:
            timer.cancel()

    def script(self, source: str) -> str:
        sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts so
        self._scripts[sha] = source
        return sha

    async def run_script(self, sha: str, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:
            # A restarted or flushed Redis: EVAL sends the source and caches it again.
            return await self.call("EVAL", self._scripts[sha], len(keys), *keys, *args)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _connect(self) -> RespConnection:
        # Concurrent first calls share one connection attempt.
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done():
                self._connecting = None

    async def _open(self) -> RespConnection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                _, conn = await loop.create_connection(
                    lambda: RespConnection(loop),
                    self._host,
                    self._port,
                    ssl=ssl.create_default_context() if self._tls else None,
                )
                try:
                    await self._handshake(conn)
                except BaseException:
                    conn.close()  # refused (AUTH, SELECT) or timed out: not half-open
                    raise
        except TimeoutError as exc:
            raise RedisTimeoutError("could not connect to Redis in time") from exc
        except OSError as exc:
            raise RedisConnectionError(f"could not connect to Redis: {exc}") from exc
        self._conn = conn
        return conn

    async def _handshake(self, conn: RespConnection) -> None:
        if self._auth:
            await conn.call(encode(("AUTH", *self._auth)))
        if self._db:
            await conn.call(encode(("SELECT", self._db)))
