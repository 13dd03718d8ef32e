"""The seam between the hot path and budgets/rate limits (issue 5 fills it in).

The router calls `admit` once before forwarding (one Redis round trip, none for a busy key
admitted from its lease) and `settle` once after the response, whatever the outcome. While
relaying a stream it calls `check_stream` with the usage so far; that call stays in process
unless the request runs past what it reserved (docs/budgets.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aistrale_common.health import Check
from aistrale_router.admission.plan import Plan
from aistrale_router.catalog.schema import ModelEntry
from aistrale_router.keys.record import KeyRecord
from aistrale_router.usage import Usage


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    key: KeyRecord
    model: ModelEntry
    prompt_tokens: int  # an estimate that never undercounts by much (see budget docs)
    max_tokens: int | None  # as the client asked; None: the model's max_output_tokens
    # Completions of up to max_tokens each the request makes upstream generate (n, best_of,
    # several prompts): all of them are reserved and paid for.
    choices: int = 1


@dataclass(frozen=True, slots=True)
class Admission:
    reservation_id: str
    max_tokens: int | None  # lowered when the budget cannot pay the client's worst case
    headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-*
    # Filled by the gatekeeper for its own settle/check_stream; callers never read them.
    plan: Plan | None = field(default=None, repr=False)
    held_micro_usd: int = 0  # reserved against every budget line of the plan
    reserved_tokens: int = 0  # counted in the TPM windows: prompt + max_tokens
    store: Literal["shared", "local"] = "shared"


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a request used, and what it cost (`usage.pricing.cost_micro_usd`)."""

    usage: Usage
    cost_micro_usd: int

    @property
    def tokens(self) -> int:
        """Prompt and completion: what the token windows count."""
        return self.usage.prompt_tokens + self.usage.completion_tokens


class Gatekeeper(Protocol):
    async def admit(self, request: AdmissionRequest) -> Admission:
        """Raises RateLimited or QuotaExceeded (with Retry-After and x-ratelimit-* headers)."""
        ...

    async def settle(self, admission: Admission, settlement: Settlement) -> None: ...


class ManagedGatekeeper(Gatekeeper, Protocol):
    """What `build_gatekeeper` returns: the port plus the stream hook and the lifecycle."""

    async def check_stream(
        self, admission: Admission, prompt_tokens: int, completion_tokens: int
    ) -> bool:
        """False: the budget cannot pay for more; end the stream with an error event.
        Raises ServiceUnavailable when the budget cannot be checked (fail_closed)."""
        ...

    def checks(self) -> Mapping[str, Check]:
        """Readiness checks for /ready."""
        ...

    async def close(self) -> None: ...
