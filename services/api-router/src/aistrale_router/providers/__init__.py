"""Every provider behind one interface (see base.py and docs/providers.md)."""

from __future__ import annotations

from typing import get_args

from aistrale_common.providers import ProviderName
from aistrale_router.providers.anthropic import AnthropicAdapter
from aistrale_router.providers.anthropic_native import AnthropicNativeAdapter
from aistrale_router.providers.base import (
    AdapterRegistry,
    PreparedRequest,
    ProviderAdapter,
    ProviderTarget,
    StreamTranslator,
    UnknownProvider,
    WireTranslator,
)
from aistrale_router.providers.gemini import GeminiAdapter
from aistrale_router.providers.openai_compat import OpenAICompatibleAdapter
from aistrale_router.providers.passthrough import PassthroughAdapter
from aistrale_router.providers.translating import TranslatingAdapter
from aistrale_router.usage import Usage

__all__ = [
    "AdapterRegistry",
    "PreparedRequest",
    "ProviderAdapter",
    "ProviderTarget",
    "StreamTranslator",
    "UnknownProvider",
    "Usage",
    "default_registry",
]


def default_registry() -> AdapterRegistry:
    """Every provider the catalog may name has an adapter: `vllm` and `openai-compatible`
    the passthrough, the others their translator."""
    registry = AdapterRegistry()
    registry.register(PassthroughAdapter("vllm"))
    registry.register(PassthroughAdapter("openai-compatible"))
    translators: list[WireTranslator] = [
        OpenAICompatibleAdapter("openai"),
        OpenAICompatibleAdapter("groq", has_embeddings=False),
        OpenAICompatibleAdapter("huggingface"),
        AnthropicAdapter(),
        GeminiAdapter(),
    ]
    for translator in translators:
        registry.register(TranslatingAdapter(translator), translator)
    # Anthropic Messages clients, on an Anthropic deployment, are not translated at all.
    registry.register_native("messages", AnthropicNativeAdapter())
    missing = set(get_args(ProviderName)) - set(registry.adapters)
    assert not missing, f"catalog providers without an adapter: {sorted(missing)}"
    return registry
