"""The one function that turns a `Usage` into money, in integer micro-USD (never float).

Everything priced goes through `cost_micro_usd`: the usage event and the settlement of
every request (every provider, `vllm` and `openai-compatible` included: their price comes
from the model catalog), and admission's reservations, stream checks and grants (a
reservation is the cost of the prompt and the most tokens it may generate, no cached part).
Streamed and non-streamed answers carry the same `Usage`, so they cost the same by
construction. The Lua scripts repeat this formula; the contract tests hold both to the
same answers.

Rounding: the exact cost is sum(tokens * price) / 1e6 micro-USD; the total is rounded up
once (never per component), so a call is never billed below its price and the sum of
parts cannot drift from the whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aistrale_router.usage.value import Usage

PER_MTOK = 1_000_000


class PriceLike(Protocol):
    """The catalog's `Pricing`, a list price (`ModelPrice`) or `Rates`: per million tokens."""

    @property
    def input_micro_usd_per_mtok(self) -> int: ...
    @property
    def output_micro_usd_per_mtok(self) -> int: ...
    @property
    def cached_input_micro_usd_per_mtok(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Rates:
    input_micro_usd_per_mtok: int = 0
    output_micro_usd_per_mtok: int = 0
    cached_input_micro_usd_per_mtok: int | None = None  # None: cached input at input price


FREE = Rates()


def rates(price: PriceLike | None) -> Rates:
    """A price as plain rates (zero for an unpriced model): what an admission plan keeps."""
    if price is None:
        return FREE
    return Rates(
        price.input_micro_usd_per_mtok,
        price.output_micro_usd_per_mtok,
        price.cached_input_micro_usd_per_mtok,
    )


def cost_micro_usd(usage: Usage, price: PriceLike | None) -> int:
    """Integer micro-USD for `usage` at `price`, rounded up; 0 when the model has no price."""
    if price is None:
        return 0
    prompt = max(usage.prompt_tokens, 0)
    cached = min(max(usage.cached_tokens, 0), prompt)
    cached_rate = price.cached_input_micro_usd_per_mtok
    if cached_rate is None:
        cached_rate = price.input_micro_usd_per_mtok
    numerator = (
        (prompt - cached) * price.input_micro_usd_per_mtok
        + cached * cached_rate
        + max(usage.completion_tokens, 0) * price.output_micro_usd_per_mtok
    )
    return -(-numerator // PER_MTOK)  # ceiling division on integers: no float anywhere


def affordable_tokens(
    remaining: int, prompt: int, price: PriceLike, want: int, choices: int = 1
) -> int:
    """The most completion tokens per choice (at most `want`) that `remaining` pays for
    `choices` times; -1: not even the prompt. The inverse of `cost_micro_usd`."""
    if cost_micro_usd(Usage(prompt, 0), price) > remaining:
        return -1
    price_out = price.output_micro_usd_per_mtok
    if price_out == 0:
        return want
    tokens = (remaining * PER_MTOK - prompt * price.input_micro_usd_per_mtok) // (
        price_out * choices
    )
    return max(0, min(want, tokens))
