"""The upstream client over an injected httpx transport (tests, the single-process platform)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx

from aistrale_router.upstream.port import (
    TransportSettings,
    UpstreamBroken,
    UpstreamResponse,
    UpstreamTimedOut,
    UpstreamUnreachable,
)


class _HttpxResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except httpx.TimeoutException as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise UpstreamBroken(type(exc).__name__) from exc

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.aiter_raw():
                yield data
        except httpx.TimeoutException as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise UpstreamBroken(type(exc).__name__) from exc

    async def close(self) -> None:
        await self._response.aclose()


class HttpxUpstream:
    def __init__(self, settings: TransportSettings, transport: httpx.AsyncBaseTransport) -> None:
        timeout = httpx.Timeout(
            connect=settings.upstream_connect_timeout_s,
            read=settings.upstream_chunk_timeout_s,
            write=settings.upstream_connect_timeout_s,
            pool=settings.upstream_connect_timeout_s,
        )
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout, trust_env=False)

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> UpstreamResponse:
        request = self._client.build_request("POST", url, content=body, headers=headers)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc
        return _HttpxResponse(response)

    async def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        try:
            response = await self._client.get(url, headers=headers, timeout=timeout_s)
        except httpx.TimeoutException as exc:
            raise UpstreamTimedOut(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc
        return response.status_code, response.content  # decoded if it came compressed

    async def close(self) -> None:
        await self._client.aclose()
