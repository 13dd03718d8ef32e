"""The transport port: what the forwarder and the relays need from an HTTP client,
whichever library carries the bytes. `upstream/` is a leaf: it knows nothing of providers,
routing or the gateway; the factory that picks a client is in `gateway/wiring.py`.

Production uses the lean client (`upstream/lean`, asyncio protocols + httptools: about a
quarter of aiohttp's CPU per request, and aiohttp about a sixth of httpx's; measured in
docs/decisions/router-upstream-client.md); `AISTRALE_UPSTREAM_CLIENT=aiohttp` selects aiohttp.
An injected httpx transport (tests, the single-process platform) selects the httpx adapter,
so tests need no network. All of them raise only the three exceptions below; their
messages are for the logs, never for clients (the forwarder and the relay say fixed phrases).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol


class TransportSettings(Protocol):
    """What a client reads of the router's settings (`Settings` has these fields): the
    transport depends on these four values, not on the settings module and what it reads."""

    @property
    def upstream_connect_timeout_s(self) -> float: ...
    @property
    def upstream_chunk_timeout_s(self) -> float: ...  # the longest silence between chunks
    @property
    def upstream_max_connections(self) -> int: ...  # per upstream origin
    @property
    def upstream_ca_file(self) -> str | None: ...  # extra CA bundle for TLS upstreams


class UpstreamTimedOut(Exception):
    """No connection, or no byte, within the configured time."""


class UpstreamUnreachable(Exception):
    """Connection refused or reset before an answer."""


class UpstreamBroken(Exception):
    """The connection failed while the body was arriving."""


class UpstreamResponse(Protocol):
    status: int
    headers: Mapping[str, str]  # case-insensitive

    async def read(self) -> bytes: ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; raises UpstreamTimedOut or UpstreamBroken."""
        ...

    async def close(self) -> None:
        """Releases the connection; mid-body, drops it so upstream stops generating."""
        ...


class UpstreamClient(Protocol):
    async def post(self, url: str, headers: dict[str, str], body: bytes) -> UpstreamResponse:
        """Returns once the status and headers are in. Raises UpstreamTimedOut,
        UpstreamUnreachable, or UpstreamBroken for an answer that is not HTTP."""
        ...

    async def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        """Status and whole body (never compressed) within `timeout_s`. Raises only
        UpstreamTimedOut or UpstreamUnreachable (a body cut short counts as no answer)."""
        ...

    async def close(self) -> None: ...
