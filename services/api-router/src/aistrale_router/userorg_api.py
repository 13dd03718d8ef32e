"""GETs on user-org's internal API (service token): the key lookup and the org credentials."""

from __future__ import annotations

import httpx


class LookupUnavailable(Exception):
    """user-org did not give an answer (down, timed out, or failed): not the same as 404."""


async def internal_get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> bytes | None:
    """The resource's body; None when user-org says 404; LookupUnavailable otherwise."""
    try:
        response = await _get(client, url, headers)
    except httpx.HTTPError as exc:
        raise LookupUnavailable(f"user-org unreachable: {type(exc).__name__}") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise LookupUnavailable(f"user-org answered {response.status_code}")
    return response.content


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """A GET, asked once more when the server closed the pooled connection before it
    answered (it never saw the request): not an outage, and the GET is idempotent."""
    try:
        return await client.get(url, headers=headers)
    except httpx.RemoteProtocolError:
        return await client.get(url, headers=headers)
