"""The user-org key lookup over HTTP (DESIGN.md "Key lookup")."""

from __future__ import annotations

import httpx

from aistrale_router.keys.record import KeyRecord


class LookupUnavailable(Exception):
    """user-org did not give an answer (down, timed out, or failed): not the same as 404."""


class UserOrgKeyLookup:
    def __init__(self, client: httpx.AsyncClient, service_token: str) -> None:
        self._client = client
        self._headers = {"authorization": f"Bearer {service_token}"}

    async def lookup(self, key_hash: str) -> KeyRecord | None:
        """The key's record, None for an unknown key; LookupUnavailable when no answer."""
        try:
            response = await self._client.get(
                f"/internal/v1/keys/{key_hash}", headers=self._headers
            )
        except httpx.HTTPError as exc:
            raise LookupUnavailable(f"user-org unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LookupUnavailable(f"user-org answered {response.status_code}")
        return KeyRecord.model_validate_json(response.content)
