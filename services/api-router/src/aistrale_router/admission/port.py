"""The seam between the hot path and budgets/rate limits (issue 5 fills it in).

The router calls `admit` once before forwarding (one Redis round trip) and `settle` once
after the response (one more), whatever the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aistrale_router.catalog.schema import ModelEntry
from aistrale_router.keys.record import KeyRecord


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    key: KeyRecord
    model: ModelEntry
    prompt_tokens: int  # an estimate that never undercounts by much (see budget docs)
    max_tokens: int | None  # as the client asked; None: the model's max_output_tokens


@dataclass(frozen=True, slots=True)
class Admission:
    reservation_id: str
    max_tokens: int | None  # lowered when the budget cannot pay the client's worst case
    headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-*


@dataclass(frozen=True, slots=True)
class Settlement:
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int


class Gatekeeper(Protocol):
    async def admit(self, request: AdmissionRequest) -> Admission:
        """Raises RateLimited or QuotaExceeded (with Retry-After and x-ratelimit-* headers)."""
        ...

    async def settle(self, admission: Admission, settlement: Settlement) -> None: ...
