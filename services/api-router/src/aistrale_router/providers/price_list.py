"""List prices of the popular models per provider, in integer micro-USD per million
tokens (USD 2.50 / Mtok = 2_500_000). Each entry carries the date it was read.

Operators override any of these per model in the catalog (`pricing:`), which also prices
self-hosted models (`vllm`, `openai-compatible`) that have no list price here.
Known simplifications, written down in docs/providers.md: Anthropic cache writes are
priced as plain input; Gemini 2.5 Pro's >200k-token tier is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_micro_usd_per_mtok: int
    output_micro_usd_per_mtok: int
    cached_input_micro_usd_per_mtok: int | None  # None: cached input costs the input price
    as_of: date  # the day the list price was read from the provider's pricing page


_READ = date(2025, 10, 1)  # read from memory of the providers' pages: re-check these first
# Cross-checked on 2026-11-22 against stored copies of public price tables (no live fetch
# here): OpenAI, Anthropic and Gemini 2.5 against tables dated 2026-03-21 (deploybase.ai,
# "data from the providers' pricing pages") and Anthropic's own pricing page for Opus 4/4.1,
# Sonnet 4/3.7 and Haiku 3.5 (cache hits at a tenth of the input price); Gemini 3.x against
# a table quoting ai.google.dev (morphllm.com, undated). Input and output prices were
# checked; cached-input prices were not (None: cached input is charged as input, which can
# over-charge, never under-charge). Groq: gpt-oss-120b against a table dated 2026-06-04
# quoting Groq's pricing page (tokenmix.ai); the other Groq and HuggingFace prices: not checked.
_MAR26 = date(2026, 3, 21)
_NOV26 = date(2026, 11, 22)


def _usd(inp: float, out: float, cached: float | None, as_of: date = _READ) -> ModelPrice:
    # Written in USD for review against the providers' pages; stored as exact integers.
    def micro(value: float) -> int:
        return round(value * 1_000_000)

    return ModelPrice(micro(inp), micro(out), None if cached is None else micro(cached), as_of)


PRICES: dict[str, dict[str, ModelPrice]] = {
    "openai": {
        "gpt-5.4": _usd(2.50, 15.00, None, _MAR26),
        "gpt-5.1": _usd(1.25, 10.00, None, _MAR26),
        "gpt-5": _usd(1.25, 10.00, 0.125, _MAR26),
        "gpt-5-mini": _usd(0.25, 2.00, 0.025, _MAR26),
        "gpt-5-nano": _usd(0.05, 0.40, 0.005, _MAR26),
        "gpt-4.1": _usd(2.00, 8.00, 0.50, _MAR26),
        "gpt-4.1-mini": _usd(0.40, 1.60, 0.10, _MAR26),
        "gpt-4.1-nano": _usd(0.10, 0.40, 0.025, _MAR26),
        "gpt-4o": _usd(2.50, 10.00, 1.25, _MAR26),
        "gpt-4o-mini": _usd(0.15, 0.60, 0.075, _MAR26),
        "o3": _usd(2.00, 8.00, 0.50, _MAR26),
        "o4-mini": _usd(1.10, 4.40, 0.275, _MAR26),
        "text-embedding-3-small": _usd(0.02, 0.0, None, _MAR26),
        "text-embedding-3-large": _usd(0.13, 0.0, None, _MAR26),
    },
    "anthropic": {
        "claude-opus-4-6": _usd(5.00, 25.00, 0.50, _MAR26),
        "claude-sonnet-4-6": _usd(3.00, 15.00, 0.30, _MAR26),
        "claude-opus-4-5": _usd(5.00, 25.00, 0.50, _MAR26),
        "claude-opus-4-1": _usd(15.00, 75.00, 1.50, _MAR26),
        "claude-opus-4": _usd(15.00, 75.00, 1.50, _MAR26),
        "claude-sonnet-4-5": _usd(3.00, 15.00, 0.30, _MAR26),
        "claude-sonnet-4": _usd(3.00, 15.00, 0.30, _MAR26),
        "claude-3-7-sonnet": _usd(3.00, 15.00, 0.30, _MAR26),
        "claude-haiku-4-5": _usd(1.00, 5.00, 0.10, _MAR26),
        "claude-3-5-haiku": _usd(0.80, 4.00, 0.08, _MAR26),
    },
    "gemini": {
        "gemini-3.1-pro": _usd(2.00, 12.00, None, _NOV26),
        "gemini-3-flash": _usd(0.50, 3.00, None, _NOV26),
        "gemini-3.1-flash-lite": _usd(0.25, 1.50, None, _NOV26),
        "gemini-2.5-pro": _usd(1.25, 10.00, 0.125, _MAR26),
        "gemini-2.5-flash": _usd(0.30, 2.50, 0.03, _MAR26),
        "gemini-2.5-flash-lite": _usd(0.10, 0.40, 0.01, _NOV26),
        "gemini-2.0-flash": _usd(0.10, 0.40, 0.025, _NOV26),  # shut down 2026-06-01
        "gemini-embedding-001": _usd(0.15, 0.0, None),
    },
    "groq": {
        "llama-3.3-70b-versatile": _usd(0.59, 0.79, None),
        "llama-3.1-8b-instant": _usd(0.05, 0.08, None),
        "openai/gpt-oss-120b": _usd(0.15, 0.60, 0.075, date(2026, 6, 4)),  # was 0.75 out
        "openai/gpt-oss-20b": _usd(0.10, 0.50, None),
        "meta-llama/llama-4-scout-17b-16e-instruct": _usd(0.11, 0.34, None),
        "moonshotai/kimi-k2-instruct": _usd(1.00, 3.00, 0.50),
    },
    "huggingface": {
        # The HF router bills the serving partner's price; these are the defaults it
        # routes to. Self-hosted TGI has no list price: set `pricing:` in the catalog.
        "meta-llama/Llama-3.1-8B-Instruct": _usd(0.02, 0.05, None),
        "meta-llama/Llama-3.3-70B-Instruct": _usd(0.59, 0.79, None),
        "Qwen/Qwen2.5-72B-Instruct": _usd(0.90, 0.90, None),
    },
}
