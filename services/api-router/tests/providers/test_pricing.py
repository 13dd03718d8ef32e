"""Pricing: integer micro-USD, catalog overrides, and the conformance check that a
streamed and a non-streamed call with the same usage cost exactly the same, per provider,
through each adapter's own usage translation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from aistrale_router.catalog.schema import Pricing
from aistrale_router.providers import ProviderTarget, Usage, default_registry
from aistrale_router.providers.openai_format import usage_from_openai
from aistrale_router.providers.pricing import (
    PRICES,
    ModelPrice,
    lookup,
    resolve_price,
)
from aistrale_router.streaming.sse import SseEvent
from aistrale_router.usage.pricing import cost_micro_usd

PRICE = ModelPrice(3_000_000, 15_000_000, 300_000, date(2025, 10, 1))


def test_cost_is_integer_and_rounded_up_once() -> None:
    # 21 * 3 + 1843 * 0.3 + 10 * 15 = 765.9 micro-USD -> 766
    cost = cost_micro_usd(
        Usage(prompt_tokens=1864, completion_tokens=10, cached_tokens=1843), PRICE
    )
    assert cost == 766 and isinstance(cost, int)


def test_cached_tokens_cost_input_price_when_no_cached_price() -> None:
    price = ModelPrice(1_000_000, 2_000_000, None, date(2025, 10, 1))
    assert cost_micro_usd(Usage(1000, 0, 600), price) == 1000
    assert cost_micro_usd(Usage(1000, 500, 0), price) == 2000


def test_no_price_costs_nothing_and_bad_usage_is_clamped() -> None:
    assert cost_micro_usd(Usage(10, 10, 0), None) == 0
    assert cost_micro_usd(Usage(10, 0, 50), PRICE) == cost_micro_usd(Usage(10, 0, 10), PRICE)


def test_catalog_pricing_overrides_and_is_accepted_as_is() -> None:
    override = Pricing(input_micro_usd_per_mtok=1_000_000, output_micro_usd_per_mtok=0)
    assert resolve_price("anthropic", "claude-sonnet-4-5", override) is override
    assert cost_micro_usd(Usage(2_000_000, 5, 0), override) == 2_000_000
    assert resolve_price("vllm", "gemma-3-270m") is None


@pytest.mark.parametrize(
    ("provider", "model", "listed"),
    [
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("gemini", "gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
        ("groq", "llama-3.3-70b-versatile", "llama-3.3-70b-versatile"),
    ],
)
def test_snapshots_find_their_listed_price(provider: str, model: str, listed: str) -> None:
    assert lookup(provider, model) is PRICES[provider][listed]


def test_a_bare_prefix_is_not_a_snapshot() -> None:
    assert lookup("anthropic", "claude-opus-4-7") is None
    assert lookup("openai", "gpt-4o-mini-tts") is None


def test_every_list_price_is_dated_and_whole() -> None:
    for provider in ("openai", "anthropic", "gemini", "groq", "huggingface"):
        assert PRICES[provider], provider
        for price in PRICES[provider].values():
            assert price.as_of <= date.today()
            assert isinstance(price.input_micro_usd_per_mtok, int)
            assert isinstance(price.output_micro_usd_per_mtok, int)


PAIRS = [
    # provider, upstream model, non-streamed fixture, streamed fixture, expected micro-USD
    # (expected worked out by hand from the fixture's usage and the list price)
    ("anthropic", "claude-sonnet-4-5-20250929", "anthropic/message_text.json",
     "anthropic/stream_text.sse", 766),  # 21*3 + 1843*0.3 + 10*15 = 765.9
    ("anthropic", "claude-sonnet-4-5-20250929", "anthropic/message_tool_use.json",
     "anthropic/stream_tool_use.sse", 2751),  # 472*3 + 89*15 = 2751 exactly
    ("gemini", "gemini-2.5-flash", "gemini/generate_text.json",
     "gemini/stream_text.sse", 145),  # 21*0.3 + 1843*0.03 + 33*2.5 = 144.09
    ("gemini", "gemini-2.5-flash", "gemini/generate_function_call.json",
     "gemini/stream_function_call.sse", 240),  # 97*0.3 + 84*2.5 = 239.1
    ("openai", "gpt-4o-mini-2024-07-18", "openai/chat_completion.json",
     "openai/stream_tool_call.sse", 150),  # 72*0.15 + 1792*0.075 + 8*0.6 = 150.0
    ("groq", "llama-3.3-70b-versatile", "groq/chat_completion.json",
     "groq/stream_text.sse", 30),  # 40*0.59 + 8*0.79 = 29.92
    ("huggingface", "meta-llama/Llama-3.1-8B-Instruct", "huggingface/tgi_chat_completion.json",
     "huggingface/tgi_stream_text.sse", 1),  # 20*0.02 + 8*0.05 = 0.8
]  # fmt: skip


@pytest.mark.parametrize(("provider", "model", "plain", "streamed", "expected"), PAIRS)
def test_streamed_and_non_streamed_cost_the_same(
    provider: str,
    model: str,
    plain: str,
    streamed: str,
    expected: int,
    raw: Callable[[str], bytes],
    sse_events: Callable[[str], list[SseEvent]],
) -> None:
    adapter = default_registry().translator(provider)
    target = ProviderTarget("http://upstream", model, None)
    usage_plain = usage_from_openai(adapter.chat_response(raw(plain), target, "r1")["usage"])
    translator = adapter.stream_translator(target, "r2", model)
    chunks = [c for e in sse_events(streamed) for c in translator.feed(e)] + translator.finish()
    usage_streamed = usage_from_openai(chunks[-1]["usage"])
    assert usage_plain == usage_streamed == translator.usage
    price = resolve_price(provider, model)
    assert price is not None
    assert cost_micro_usd(usage_plain, price) == cost_micro_usd(usage_streamed, price) == expected
