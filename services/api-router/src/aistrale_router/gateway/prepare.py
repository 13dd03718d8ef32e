"""What is sent to a deployment, by its provider's adapter (the passthrough's bytes for
OpenAI-format servers, a translation for the others), with the key `PlanKeys` resolved
for it (the org's own, else the platform's)."""

from __future__ import annotations

from collections.abc import Mapping

from aistrale_common.errors import AistraleError
from aistrale_router.gateway.request import ClientRequest
from aistrale_router.providers.base import (
    AdapterRegistry,
    PreparedRequest,
    ProviderAdapter,
    ProviderTarget,
)
from aistrale_router.providers.plan_keys import PlanKeys, UpstreamKeys
from aistrale_router.routing.picker import Target


class RequestPreparer:
    def __init__(self, adapters: AdapterRegistry, keys: UpstreamKeys) -> None:
        self.adapters = adapters
        self.keys = keys

    def adapter(self, target: Target, request: ClientRequest) -> ProviderAdapter:
        """The adapter for this request on this deployment: the native one when the
        deployment's provider speaks the request's own protocol, else the provider's."""
        provider = target.deployment.provider
        return self.adapters.native(provider, request.native) or self.adapters.get(provider)

    def native(self, target: Target, request: ClientRequest) -> bool:
        """Whether the deployment is sent the request's own protocol body (and answers in
        it: the answer goes back untranslated)."""
        return self.adapters.native(target.deployment.provider, request.native) is not None

    async def keys_for(self, org_id: str, targets: list[Target]) -> PlanKeys:
        return await self.keys.for_plan(org_id, (t.deployment for t in targets))

    def prepare(
        self, target: Target, request: ClientRequest, max_tokens: int | None, keys: PlanKeys
    ) -> PreparedRequest:
        api_key = keys.key_for(target.deployment)  # 503 when the org's key is unknown
        adapter = self.adapter(target, request)
        return adapter.prepare(request, provider_target(target, api_key), max_tokens)

    def error(
        self,
        target: Target,
        request: ClientRequest,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
    ) -> AistraleError:
        return self.adapter(target, request).error(status, body, headers)


def provider_target(target: Target, api_key: str | None = None) -> ProviderTarget:
    """Without a key for reading answers: only requests carry one."""
    deployment = target.deployment
    return ProviderTarget(deployment.base_url, deployment.model, api_key, deployment.engine)


class BoundRequest:
    """One client request bound to the preparer: what the forwarder calls per attempt."""

    def __init__(
        self,
        preparer: RequestPreparer,
        request: ClientRequest,
        max_tokens: int | None,
        keys: PlanKeys,
    ) -> None:
        self._preparer = preparer
        self._request = request
        self._max_tokens = max_tokens
        self._keys = keys
        self.last_sent: bytes | None = None  # the body of the latest attempt (body logging)

    def prepare(self, target: Target) -> PreparedRequest:
        prepared = self._preparer.prepare(target, self._request, self._max_tokens, self._keys)
        self.last_sent = prepared.body
        return prepared

    def error(
        self, target: Target, status: int, body: bytes, headers: Mapping[str, str]
    ) -> AistraleError:
        return self._preparer.error(target, self._request, status, body, headers)
