"""Which provider key a request uses: the org's own (bring your own key) first, then the
platform's, named by the deployment's `api_key_env`.

Org credentials come from user-org's internal API (`HttpOrgCredentials`) and live only
in this process's memory, for `ttl_s` seconds, dropped at once by `invalidate` (wired to
the `credential.updated` control events). Nothing here logs a key; `ResolvedCredential`
hides it from repr.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import quote

import httpx
import orjson

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.logging import get_logger
from aistrale_common.single_flight import SingleFlight
from aistrale_router.userorg_api import LookupUnavailable, internal_get

Origin = Literal["org", "platform", "none"]
log = get_logger(__name__)


class OrgCredentialSource(Protocol):
    async def get(self, org_id: str, provider: str) -> str | None:
        """The org's key for `provider`, or None when the org has not stored one."""
        ...


@dataclass(frozen=True, slots=True)
class ResolvedCredential:
    api_key: str | None = field(repr=False)
    origin: Origin


def platform_keys(names: Iterable[str | None], environ: Mapping[str, str]) -> dict[str, str]:
    """The platform keys named by the catalog's `api_key_env`, read once at startup.

    `environ` is passed in (the app's lifespan hands over os.environ) so that this module
    reads no environment of its own.
    """
    return {n: environ[n] for n in names if n and environ.get(n)}


class CredentialResolver:
    def __init__(
        self, platform: Mapping[str, str], org_source: OrgCredentialSource | None = None
    ) -> None:
        # Held, not copied: the catalog store refreshes it in place when the catalog reloads.
        self._platform = platform
        self._org_source = org_source

    def platform_key(self, api_key_env: str | None) -> str | None:
        """The platform's key alone: for deployments no org brings a key for (vLLM...)."""
        return self._platform.get(api_key_env) if api_key_env else None

    async def resolve(
        self, org_id: str | None, provider: str, api_key_env: str | None
    ) -> ResolvedCredential:
        if org_id is not None and self._org_source is not None:
            key = await self._org_source.get(org_id, provider)
            if key:
                return ResolvedCredential(key, "org")
        platform = self.platform_key(api_key_env)
        if platform:
            return ResolvedCredential(platform, "platform")
        return ResolvedCredential(None, "none")


class HttpOrgCredentials:
    """`GET {base}/internal/v1/orgs/{org}/provider-credentials/{provider}` with the service
    token; 200 `{"api_key": ...}`, 404 none stored. Answers (found or not) are cached;
    concurrent misses for the same pair share one lookup."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, service_token: str, ttl_s: float = 60.0
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {service_token}"}
        self._ttl_s = ttl_s
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lookups: SingleFlight[tuple[str, str], str | None] = SingleFlight()
        # Bumped by invalidate: a lookup that was already under way when a credential
        # changed may carry the old key, so its answer is used once but not cached.
        self._epoch = 0

    async def get(self, org_id: str, provider: str) -> str | None:
        pair = (org_id, provider)
        cached = self._cache.get(pair)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return await self._lookups.run(pair, lambda: self._answer(pair, cached))

    def invalidate(self, org_id: str | None = None) -> None:
        """Drops one org's entries (credential changed), or all of them."""
        self._epoch += 1
        for entry in [k for k in self._cache if org_id is None or k[0] == org_id]:
            del self._cache[entry]

    async def _answer(
        self, pair: tuple[str, str], cached: tuple[float, str | None] | None
    ) -> str | None:
        epoch = self._epoch
        try:
            key = await self._fetch(*pair)
        except ServiceUnavailable:
            if cached is None or pair not in self._cache:
                raise
            # user-org briefly down: the last answer beats failing every request.
            # Never fall back to the platform key: that would bill the platform for a BYOK org.
            return cached[1]
        if epoch == self._epoch:
            self._cache[pair] = (time.monotonic() + self._ttl_s, key)
        return key

    async def _fetch(self, org_id: str, provider: str) -> str | None:
        url = (
            f"{self._base}/internal/v1/orgs/{quote(org_id)}/provider-credentials/{quote(provider)}"
        )
        try:
            body = await internal_get(self._client, url, self._headers)
        except LookupUnavailable as exc:
            log.warning("org_credentials_unavailable", org_id=org_id, error=str(exc))
            raise _unavailable() from exc
        key = orjson.loads(body).get("api_key") if body is not None else None
        return str(key) if key else None


def _unavailable() -> ServiceUnavailable:
    # A fixed phrase: why user-org did not answer is for the logs, not for the client.
    return ServiceUnavailable(
        "The organization's provider credentials could not be looked up; retry shortly.",
        code="credentials_unavailable",
    )
