"""The user-org key lookup over HTTP (DESIGN.md "Key lookup")."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from aistrale_router.keys.record import KeyRecord
from aistrale_router.userorg_api import LookupUnavailable, internal_get

__all__ = ["LookupUnavailable", "UserOrgKeyLookup"]


class UserOrgKeyLookup:
    def __init__(self, client: httpx.AsyncClient, service_token: str) -> None:
        self._client = client
        self._headers = {"authorization": f"Bearer {service_token}"}

    async def lookup(self, key_hash: str) -> KeyRecord | None:
        """The key's record, None for an unknown key; LookupUnavailable when no answer."""
        body = await internal_get(self._client, f"/internal/v1/keys/{key_hash}", self._headers)
        if body is None:
            return None
        try:
            return KeyRecord.model_validate_json(body)
        except ValidationError as exc:
            # Not an answer we can act on: the cached one (if any) stays the fallback.
            raise LookupUnavailable("user-org answered a malformed key record") from exc
