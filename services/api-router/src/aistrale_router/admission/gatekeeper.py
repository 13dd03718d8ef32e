"""`StoreGatekeeper`: the Gatekeeper port over one store (Redis or in-process)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple

from aistrale_common.clock import Clock
from aistrale_router.admission.metrics import AdmissionMetrics
from aistrale_router.admission.plan import Plan, make_plan
from aistrale_router.admission.port import Admission, AdmissionRequest, Settlement
from aistrale_router.admission.store import Store
from aistrale_router.admission.verdict import ADMITTED, Verdict, to_admission
from aistrale_router.usage.pricing import rates


@dataclass(frozen=True, slots=True)
class AdmissionConfig:
    prefix: str
    reservation_ttl_s: int = 600
    min_output_tokens: int = 16
    stream_extension_tokens: int = 64


class Decision(NamedTuple):
    plan: Plan
    verdict: Verdict
    reservation_id: str


def needs_store(plan: Plan) -> bool:
    """A plan with no rate window and no budget line is admitted without asking a store."""
    return bool(plan.windows or plan.lines)


class StoreGatekeeper:
    def __init__(
        self,
        store: Store,
        config: AdmissionConfig,
        clock: Clock,
        *,
        shared: bool,
        metrics: AdmissionMetrics | None = None,
    ) -> None:
        self.store = store
        self._metrics = metrics
        self._config = config
        self._clock = clock
        self._shared = shared
        # Streams that ran past their admission: id -> (micro-USD held since, deadline ms).
        self._streams: dict[str, tuple[int, int]] = {}

    def plan(self, request: AdmissionRequest) -> Plan:
        return make_plan(
            request.key,
            prompt=request.prompt_tokens,
            max_tokens=request.max_tokens,
            model_max=request.model.max_output_tokens,
            price=rates(request.model.pricing),
            now=self._clock(),
            prefix=self._config.prefix,
            ttl_s=self._config.reservation_ttl_s,
            min_tokens=self._config.min_output_tokens,
            choices=request.choices,
        )

    async def admit(self, request: AdmissionRequest) -> Admission:
        return self.conclude(await self.decide(self.plan(request)))

    async def decide(self, plan: Plan) -> Decision:
        """The store's round trip alone (what the Redis-down policy times and guards)."""
        rid = os.urandom(12).hex()
        if needs_store(plan):
            verdict = await self.store.admit(plan, rid)
        else:
            # No limit and no budget: the script would grant `want` and change nothing, so
            # the round trip is skipped (spend is still counted when the request settles).
            verdict = Verdict(ADMITTED, plan.want, 0, 0, ())
        if self._metrics is not None:
            self._metrics.decided(verdict.status, shared=self._shared, org_id=plan.org_id)
        return Decision(plan, verdict, rid)

    def conclude(self, decision: Decision) -> Admission:
        """The admission, or the 429 the decision calls for."""
        plan, verdict, rid = decision
        return to_admission(plan, verdict, rid, shared=self._shared)

    async def settle(self, admission: Admission, settlement: Settlement) -> None:
        plan = admission.plan
        if plan is None:
            return
        used = settlement.tokens
        tpm_keys = [w.key for w in plan.windows if w.kind == "tokens"]
        delta = used - admission.reserved_tokens
        rid = admission.reservation_id
        await self.store.settle(plan, rid, delta, settlement.cost_micro_usd, tpm_keys)
        self._streams.pop(rid, None)

    async def check_stream(
        self, admission: Admission, prompt_tokens: int, completion_tokens: int
    ) -> bool:
        plan = admission.plan
        if plan is None or not plan.lines or not plan.priced:
            return True
        rid = admission.reservation_id
        extended, deadline_ms = self._streams.get(rid, (0, plan.deadline_ms))
        held = admission.held_micro_usd + extended
        cost = plan.cost(prompt_tokens, completion_tokens)
        now_ms = int(self._clock() * 1000)
        half_ttl_ms = self._config.reservation_ttl_s * 500
        if cost <= held and now_ms < deadline_ms - half_ttl_ms:
            return True  # the common case: no I/O
        # Past the hold (hold a little more ahead, so the next chunks stay in process), or a
        # long stream whose reservation must not expire under it.
        need = max(0, cost - held)
        ahead = completion_tokens + self._config.stream_extension_tokens
        extra = plan.cost(prompt_tokens, ahead) - held
        deadline_ms = now_ms + self._config.reservation_ttl_s * 1000
        added = await self.store.extend(plan, rid, need, extra if need else 0, now_ms, deadline_ms)
        if added < 0:
            return False
        self._streams[rid] = (extended + added, deadline_ms)
        return True
