"""What is sent to a deployment: the client's bytes for OpenAI-format servers (vllm,
openai-compatible, and any provider without an adapter), or the adapter's translation,
with the key `PlanKeys` resolved for it (the org's own, else the platform's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aistrale_common.errors import AistraleError, InvalidRequest
from aistrale_router.gateway.request import PATHS, ClientRequest
from aistrale_router.providers.base import (
    AdapterRegistry,
    PreparedRequest,
    ProviderAdapter,
    ProviderTarget,
)
from aistrale_router.providers.openai_errors import upstream_error
from aistrale_router.providers.plan_keys import PlanKeys, UpstreamKeys
from aistrale_router.routing.picker import Target


class RequestPreparer:
    def __init__(self, adapters: AdapterRegistry, keys: UpstreamKeys) -> None:
        self.adapters = adapters
        self.keys = keys

    def adapter(self, target: Target) -> ProviderAdapter | None:
        return self.adapters.get(target.deployment.provider)

    async def keys_for(self, org_id: str, targets: list[Target]) -> PlanKeys:
        return await self.keys.for_plan(org_id, (t.deployment for t in targets))

    def prepare(
        self, target: Target, request: ClientRequest, max_tokens: int | None, keys: PlanKeys
    ) -> PreparedRequest:
        api_key = keys.key_for(target.deployment)  # 503 when the org's key is unknown
        adapter = self.adapter(target)
        if adapter is None:
            return _openai_format(target, request, max_tokens, api_key)
        body: dict[str, Any] = dict(request.body)
        if max_tokens is not None:
            body[request.max_tokens_field] = max_tokens
        provider = provider_target(target, api_key)
        if request.endpoint == "chat":
            return adapter.chat_request(body, provider)
        if request.endpoint == "embeddings":
            return adapter.embeddings_request(body, provider)
        raise InvalidRequest(
            f"/v1/completions is not available for {target.deployment.provider} models; "
            "use /v1/chat/completions.",
            param="model",
        )

    def error(
        self, target: Target, status: int, body: bytes, headers: Mapping[str, str]
    ) -> AistraleError:
        adapter = self.adapter(target)
        if adapter is None:
            return upstream_error(status, body, headers)
        return adapter.error(status, body, headers)


def provider_target(target: Target, api_key: str | None = None) -> ProviderTarget:
    """Without a key for reading answers: only requests carry one."""
    deployment = target.deployment
    return ProviderTarget(deployment.base_url, deployment.model, api_key)


def _openai_format(
    target: Target, request: ClientRequest, max_tokens: int | None, api_key: str | None
) -> PreparedRequest:
    deployment = target.deployment
    headers = {"content-type": "application/json", "accept-encoding": "identity"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    url = deployment.base_url.rstrip("/") + PATHS[request.endpoint]
    return PreparedRequest(
        "POST", url, headers, request.upstream_body(deployment.model, max_tokens)
    )


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

    def prepare(self, target: Target) -> PreparedRequest:
        return self._preparer.prepare(target, self._request, self._max_tokens, self._keys)

    def error(
        self, target: Target, status: int, body: bytes, headers: Mapping[str, str]
    ) -> AistraleError:
        return self._preparer.error(target, status, body, headers)
