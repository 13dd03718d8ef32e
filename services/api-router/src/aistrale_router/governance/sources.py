"""Prompt templates and guardrail settings, from user-org's internal API (service token),
kept in this process's memory for `ttl_s` and dropped at once by control events
(`prompt.updated`, `guardrails.updated`, governance/control.py).

Like the org credentials (providers/credentials.py): concurrent misses share one lookup,
and a lookup under way when an event arrived is used once but not cached.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar
from urllib.parse import quote

import httpx

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.events.schemas import ControlEvent
from aistrale_common.governance.guardrails import Guardrails
from aistrale_common.governance.templates import PromptVersion
from aistrale_common.logging import get_logger
from aistrale_common.single_flight import SingleFlight
from aistrale_router.userorg_api import LookupUnavailable, internal_get

log = get_logger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_size: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._entries: dict[K, tuple[float, V]] = {}
        self._flights: SingleFlight[K, V] = SingleFlight()
        self._epoch = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        cached = self._entries.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return await self._flights.run(key, lambda: self._load(key, load))

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        epoch = self._epoch
        try:
            value = await load()
        except ServiceUnavailable:
            stale = self._entries.get(key)
            if stale is None:
                raise
            return stale[1]  # user-org briefly down: the last answer beats failing requests
        if epoch == self._epoch:
            if len(self._entries) >= self._max_size:
                self._entries.clear()  # rare; a burst of misses beats unbounded memory
            self._entries[key] = (time.monotonic() + self._ttl_s, value)
        return value

    def drop(self, matches: Callable[[K], bool]) -> int:
        self._epoch += 1
        gone = [k for k in self._entries if matches(k)]
        for k in gone:
            del self._entries[k]
        return len(gone)


PromptKey = tuple[str, str, int | None]  # org, template, version (None: the latest)


class GovernanceSource:
    """`prompt(org, id, version)` is None when user-org knows no such (live) template or
    version; `guardrails(org)` is all-off for an org that set none."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, service_token: str, ttl_s: float
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/") + "/internal/v1/orgs/"
        self._headers = {"authorization": f"Bearer {service_token}"}
        self._prompts: TtlCache[PromptKey, PromptVersion | None] = TtlCache(ttl_s)
        self._guardrails: TtlCache[str, Guardrails] = TtlCache(ttl_s)

    async def prompt(
        self, org_id: str, prompt_id: str, version: int | None
    ) -> PromptVersion | None:
        async def load() -> PromptVersion | None:
            query = "" if version is None else f"?version={version}"
            body = await self._fetch(f"{quote(org_id)}/prompts/{quote(prompt_id)}{query}")
            return None if body is None else PromptVersion.model_validate_json(body)

        return await self._prompts.get((org_id, prompt_id, version), load)

    async def guardrails(self, org_id: str) -> Guardrails:
        async def load() -> Guardrails:
            body = await self._fetch(f"{quote(org_id)}/guardrails")
            return Guardrails() if body is None else Guardrails.model_validate_json(body)

        return await self._guardrails.get(org_id, load)

    def prompt_changed(self, prompt_id: str | None) -> int:
        return self._prompts.drop(lambda k: prompt_id is None or k[1] == prompt_id)

    def guardrails_changed(self, org_id: str | None) -> int:
        return self._guardrails.drop(lambda k: org_id is None or k == org_id)

    async def _fetch(self, path: str) -> bytes | None:
        try:
            return await internal_get(self._client, self._base + path, self._headers)
        except LookupUnavailable as exc:
            log.warning("governance_lookup_unavailable", path=path, error=str(exc))
            # A fixed phrase: why user-org did not answer is for the logs.
            raise ServiceUnavailable(
                "The organization's prompt templates or guardrails could not be looked up; "
                "retry shortly.",
                code="governance_unavailable",
            ) from exc


def on_control_event(source: GovernanceSource) -> Callable[[ControlEvent], None]:
    """What keys/control.py calls for `prompt.updated` and `guardrails.updated`."""

    def apply(event: ControlEvent) -> None:
        if event.type == "prompt.updated":
            dropped = source.prompt_changed(event.prompt_id)
        else:
            dropped = source.guardrails_changed(event.org_id)
        log.info("control_event", type=event.type, dropped=dropped)

    return apply
