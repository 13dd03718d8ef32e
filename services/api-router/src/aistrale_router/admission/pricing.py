"""Money arithmetic for admissions, in integer micro-USD (never float).

Prices are micro-USD per million tokens; a request's cost is rounded up to the next micro-USD.
The Lua scripts repeat these two functions; the contract tests hold both to the same answers.
"""

from __future__ import annotations

from aistrale_router.catalog.schema import Pricing
from aistrale_router.providers.pricing import cost_micro_usd as shared_cost
from aistrale_router.usage import Usage

MTOK = 1_000_000


def prices(pricing: Pricing | None) -> tuple[int, int]:
    if pricing is None:
        return 0, 0
    return pricing.input_micro_usd_per_mtok, pricing.output_micro_usd_per_mtok


def cost_micro_usd(pricing: Pricing | None, prompt_tokens: int, completion_tokens: int) -> int:
    """What a request costs, by the one formula in providers.pricing (no cached tokens here)."""
    return shared_cost(Usage(prompt_tokens, completion_tokens, 0), pricing)


def request_cost(price_in: int, price_out: int, prompt: int, completion: int) -> int:
    return -(-(prompt * price_in + completion * price_out) // MTOK)


def affordable_tokens(
    remaining: int, prompt: int, price_in: int, price_out: int, want: int, choices: int = 1
) -> int:
    """The most completion tokens per choice (at most `want`) that `remaining` pays for
    `choices` times; -1: not even the prompt."""
    if request_cost(price_in, price_out, prompt, 0) > remaining:
        return -1
    if price_out == 0:
        return want
    tokens = (remaining * MTOK - prompt * price_in) // (price_out * choices)
    return max(0, min(want, tokens))
