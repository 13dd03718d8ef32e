"""The exact answer cache on the hot path: which requests use it, and what a miss keeps.

A model without `cache` in the catalog is untouched (no header). For one with it, every
answer says `x-aistrale-cache: hit | miss | bypass` (bypass: a stream, or `"cache": false`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aistrale_router.admission.port import Admission
from aistrale_router.answer_cache import CACHE_HEADER, AnswerCache, CachedAnswer, answer_key
from aistrale_router.catalog.schema import ModelEntry
from aistrale_router.gateway.metering import Meter
from aistrale_router.routing.picker import Target
from aistrale_router.usage import Usage
from aistrale_router.usage.pricing import cost_micro_usd


@dataclass(frozen=True, slots=True)
class CachePlan:
    key: str | None  # None: this request bypasses the cache
    ttl_s: float

    @property
    def miss_header(self) -> dict[str, str]:
        return {CACHE_HEADER: "miss" if self.key is not None else "bypass"}


class GatewayCache:
    def __init__(self, answers: AnswerCache | None) -> None:
        self.answers = answers

    def plan(self, model: ModelEntry, meter: Meter) -> CachePlan | None:
        if self.answers is None or model.cache is None:
            return None
        request = meter.request
        if request.stream or request.cache_opt_out:
            self.answers.count("bypass")
            return CachePlan(None, model.cache.ttl_s)
        # A request a deployment may get in its own protocol is keyed on that body: fields
        # the chat form lacks (`thinking`, say) change the answer.
        native = request.native
        if native is None:
            key = answer_key(meter.key.org_id, request.endpoint, model.name, request.body)
        else:
            key = answer_key(meter.key.org_id, native.protocol, model.name, native.body)
        return CachePlan(key, model.cache.ttl_s)

    async def lookup(self, plan: CachePlan | None, meter: Meter) -> CachedAnswer | None:
        if plan is None or plan.key is None or self.answers is None:
            return None
        hit = await self.answers.get(plan.key)
        self.answers.count("hit" if hit is not None else "miss")
        if hit is not None:
            # Nothing upstream, nothing charged: the usage event says what it saved.
            meter.cached, meter.saved_micro_usd = True, hit.cost_micro_usd
        return hit

    async def keep(
        self,
        plan: CachePlan | None,
        target: Target,
        answer: tuple[int, bytes, str, Usage],
        meter: Meter,
    ) -> None:
        """Keeps a 200 from the model asked (not a fallback's) whose max_tokens the budget
        did not lower: a later request with more budget must not get a cut-short answer."""
        status, body, content_type, usage = answer
        if plan is None or plan.key is None or self.answers is None or status != 200:
            return
        admission = meter.admission
        if admission is None or target.fallback_from is not None:
            return
        if meter.request.endpoint != "embeddings" and _capped(
            admission, target.model, meter.request.max_tokens
        ):
            return
        cost = cost_micro_usd(usage, target.model.pricing)
        await self.answers.put(plan.key, body, content_type, cost, plan.ttl_s)


def _capped(admission: Admission, model: ModelEntry, asked: int | None) -> bool:
    """The admission granted fewer tokens than the request would otherwise have had."""
    granted = admission.max_tokens
    if granted is None:
        return False
    plan = admission.plan
    want = (
        plan.want
        if plan is not None
        else min(asked or model.max_output_tokens, model.max_output_tokens)
    )
    return granted < want
