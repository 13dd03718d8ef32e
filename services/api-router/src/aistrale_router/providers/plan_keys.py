"""The key each deployment of a request's plan is called with, resolved once per request
before the first attempt (the forwarder's per-attempt `prepare` is synchronous).

Only deployments of providers an org can bring a key for (those with an adapter: openai,
anthropic, gemini, groq, huggingface) ask for the org's key; vLLM and openai-compatible
deployments use the platform key alone, with no await and no lookup. The (provider, env)
pairs of one plan are looked up concurrently, once each.

An org whose lookup failed (user-org unreachable, nothing cached) gets a 503 for the
deployments that needed it, when the forwarder reaches one of them — never the platform
key — while deployments earlier in the plan that need no org key still serve it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable

from aistrale_common.errors import ServiceUnavailable
from aistrale_router.catalog.schema import Deployment
from aistrale_router.providers.credentials import CredentialResolver, ResolvedCredential

Pair = tuple[str, str | None]  # (provider, api_key_env)


class PlanKeys:
    __slots__ = ("_failed", "_keys")

    def __init__(self, keys: dict[str, str | None], failed: dict[str, ServiceUnavailable]) -> None:
        self._keys = keys  # deployment id -> key (None: call without one)
        self._failed = failed  # deployment id -> why its org key is unknown

    def __repr__(self) -> str:
        return f"PlanKeys(deployments={sorted(self._keys)!r}, failed={sorted(self._failed)!r})"

    def key_for(self, deployment: Deployment) -> str | None:
        failed = self._failed.get(deployment.id)
        if failed is not None:
            raise ServiceUnavailable(failed.message, code=failed.instance_code)
        return self._keys.get(deployment.id)


NO_KEYS = PlanKeys({}, {})


class UpstreamKeys:
    def __init__(self, resolver: CredentialResolver, byok_providers: Collection[str]) -> None:
        self._resolver = resolver
        self._byok = frozenset(byok_providers)

    async def for_plan(self, org_id: str, deployments: Iterable[Deployment]) -> PlanKeys:
        keys: dict[str, str | None] = {}
        wanted: dict[Pair, list[str]] = {}
        for d in deployments:
            if d.provider in self._byok:
                wanted.setdefault((d.provider, d.api_key_env), []).append(d.id)
            else:
                keys[d.id] = self._resolver.platform_key(d.api_key_env)
        if not wanted:
            return PlanKeys(keys, {})
        pairs = list(wanted)
        lookups = [self._settled(org_id, provider, env) for provider, env in pairs]
        # One pair is the usual case: awaited directly, without gather's task per lookup.
        answers = [await lookups[0]] if len(lookups) == 1 else await asyncio.gather(*lookups)
        failed: dict[str, ServiceUnavailable] = {}
        for pair, answer in zip(pairs, answers, strict=True):
            if isinstance(answer, ServiceUnavailable):
                failed.update(dict.fromkeys(wanted[pair], answer))
            else:
                keys.update(dict.fromkeys(wanted[pair], answer.api_key))
        return PlanKeys(keys, failed)

    async def _settled(
        self, org_id: str, provider: str, api_key_env: str | None
    ) -> ResolvedCredential | ServiceUnavailable:
        try:
            return await self._resolver.resolve(org_id, provider, api_key_env)
        except ServiceUnavailable as exc:
            return exc
