"""A store's answer to an admission, and how it becomes an `Admission` or a 429."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aistrale_common.errors import QuotaExceeded, RateLimited
from aistrale_router.admission.headers import rate_limit_headers
from aistrale_router.admission.plan import Plan
from aistrale_router.admission.port import Admission

ADMITTED, RATE_LIMITED, NO_QUOTA = 0, 1, 2
TOTAL_RETRY_AFTER_S = 86_400  # a total budget never rolls over: "not soon"


@dataclass(frozen=True, slots=True)
class Verdict:
    status: int
    grant: int  # completion tokens admitted (max_tokens to send upstream)
    held: int  # micro-USD reserved against every budget scope
    blocking: int  # 1-based: the refusing window (RATE_LIMITED) or budget line (NO_QUOTA)
    counts: tuple[int, ...]  # each window's count after this admission (or now, if refused)
    # Each budget line's spend plus holds in the store before this admission; () when the
    # store was not asked (a lease, no budget). What the fail-open fallback starts from.
    used: tuple[int, ...] = ()


def to_admission(plan: Plan, verdict: Verdict, reservation_id: str, *, shared: bool) -> Admission:
    """The admission, or raises the 429 the verdict calls for."""
    headers = rate_limit_headers(plan.windows, verdict.counts, plan.now_ms)
    if verdict.status == RATE_LIMITED:
        window = plan.windows[verdict.blocking - 1]
        retry = str(max(1, math.ceil(window.reset_s(plan.now_ms))))
        raise RateLimited(
            f"Rate limit reached: {window.limit} {window.kind} per minute. Try again in {retry}s.",
            headers={**headers, "Retry-After": retry},
        )
    if verdict.status == NO_QUOTA:
        line = plan.lines[verdict.blocking - 1]
        now = plan.now_ms / 1000
        reset = line.resets_at - now if line.resets_at is not None else TOTAL_RETRY_AFTER_S
        raise QuotaExceeded(
            "You exceeded your current quota: the budget cannot pay for this request.",
            headers={**headers, "Retry-After": str(max(1, math.ceil(reset)))},
        )
    return Admission(
        reservation_id=reservation_id,
        # Always sent upstream, the model's max_output_tokens when the client set none:
        # generation is bounded by what was reserved, never by the server's own default.
        max_tokens=verdict.grant,
        headers=headers,
        plan=plan,
        held_micro_usd=verdict.held,
        reserved_tokens=plan.prompt + verdict.grant * plan.choices,
        store="shared" if shared else "local",
    )
