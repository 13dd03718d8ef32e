"""Prices per million tokens in integer micro-USD, and the one function that turns a
`Usage` into a cost.

`cost_micro_usd` is the only place money is computed from tokens: the router (settling
reservations, usage events) and the budget code call it for every provider, `vllm` and
`openai-compatible` included (their price comes from the model catalog). Streamed and
non-streamed calls go through the same function with the same `Usage`, so they cost the
same by construction; the adapters' tests check that both paths produce the same `Usage`.

Rounding: the exact cost is sum(tokens * price) / 1e6 micro-USD; we round the total up
once (never per component), so a call is never billed below its price and the sum of
parts cannot drift from the whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from aistrale_router.providers.price_list import PRICES, ModelPrice
from aistrale_router.usage import Usage

__all__ = ["PRICES", "ModelPrice", "PriceLike", "cost_micro_usd", "lookup", "resolve_price"]

PER_MTOK = 1_000_000
_SNAPSHOT = re.compile(
    r"[-@](\d{4}-?\d{2}-?\d{2}|\d{3,4}|latest|preview(-\d{2}-\d{4})?|v\d+(:\d+)?)"
)


class PriceLike(Protocol):
    """Our `ModelPrice` or the catalog's `Pricing` (the per-model override)."""

    @property
    def input_micro_usd_per_mtok(self) -> int: ...
    @property
    def output_micro_usd_per_mtok(self) -> int: ...
    @property
    def cached_input_micro_usd_per_mtok(self) -> int | None: ...


def cost_micro_usd(usage: Usage, price: PriceLike | None) -> int:
    """Integer micro-USD for `usage` at `price`; 0 when the model has no price."""
    if price is None:
        return 0
    cached = min(max(usage.cached_tokens, 0), max(usage.prompt_tokens, 0))
    uncached = max(usage.prompt_tokens, 0) - cached
    cached_rate = price.cached_input_micro_usd_per_mtok
    if cached_rate is None:
        cached_rate = price.input_micro_usd_per_mtok
    numerator = (
        uncached * price.input_micro_usd_per_mtok
        + cached * cached_rate
        + max(usage.completion_tokens, 0) * price.output_micro_usd_per_mtok
    )
    return -(-numerator // PER_MTOK)  # ceiling division on integers: no float anywhere


def resolve_price(
    provider: str, upstream_model: str, override: PriceLike | None = None
) -> PriceLike | None:
    """The catalog's pricing for the model wins; otherwise our list price, if we have one."""
    if override is not None:
        return override
    return lookup(provider, upstream_model)


def lookup(
    provider: str, model: str, table: Mapping[str, Mapping[str, ModelPrice]] | None = None
) -> ModelPrice | None:
    """Exact name, else a listed name followed by a snapshot suffix only
    (`gpt-4o-mini-2024-07-18`, `claude-sonnet-4-5-20250929`, `gemini-2.5-flash-preview-09-2025`).
    A bare prefix is not enough: `claude-opus-4-5` must not get `claude-opus-4`'s price."""
    models = (table or PRICES).get(provider, {})
    if model in models:
        return models[model]
    for name, price in models.items():
        if model.startswith(name) and _SNAPSHOT.fullmatch(model[len(name) :]):
            return price
    return None
