"""The production upstream client: one aiohttp session, pooled keep-alive connections."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp

from aistrale_router.upstream.port import (
    TransportSettings,
    UpstreamBroken,
    UpstreamResponse,
    UpstreamTimedOut,
    UpstreamUnreachable,
)


class _AiohttpResponse:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(type(exc).__name__) from exc

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.content.iter_any():
                yield data
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(type(exc).__name__) from exc

    async def close(self) -> None:
        # After a full read the connection is already back in the pool and this is a no-op;
        # mid-body it closes the socket, which is how upstream learns to stop.
        self._response.close()


class AiohttpUpstream:
    def __init__(self, settings: TransportSettings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created lazily: an aiohttp session must be made inside the running loop.
        if self._session is None:
            ca_file = self._settings.upstream_ca_file
            connector = aiohttp.TCPConnector(
                ssl=ssl.create_default_context(cafile=ca_file) if ca_file else True,
                limit=self._settings.upstream_max_connections,
                keepalive_timeout=60,
                ttl_dns_cache=300,
            )
            timeout = aiohttp.ClientTimeout(
                total=None,
                sock_connect=self._settings.upstream_connect_timeout_s,
                # The longest silence between two chunks; the first byte has its own limit.
                sock_read=self._settings.upstream_chunk_timeout_s,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> UpstreamResponse:
        try:
            response = await self._open().post(url, data=body, headers=headers)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except aiohttp.ClientResponseError as exc:  # an answer that does not parse as HTTP
            raise UpstreamBroken(f"malformed response from upstream: {exc.message}") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc
        return _AiohttpResponse(response)

    async def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        # The session does not decompress (the relay forwards bytes as they are), so ask
        # for an uncompressed body; aiohttp would otherwise offer gzip.
        headers = {"accept-encoding": "identity", **headers}
        try:
            async with asyncio.timeout(timeout_s):
                async with self._open().get(url, headers=headers) as response:
                    return response.status, await response.read()
        except TimeoutError as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
