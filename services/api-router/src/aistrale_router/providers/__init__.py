"""External providers behind one interface (see base.py and docs/providers.md)."""

from __future__ import annotations

from aistrale_router.providers.anthropic import AnthropicAdapter
from aistrale_router.providers.base import (
    AdapterRegistry,
    PreparedRequest,
    ProviderAdapter,
    ProviderTarget,
    StreamTranslator,
    Usage,
)
from aistrale_router.providers.gemini import GeminiAdapter
from aistrale_router.providers.openai_compat import OpenAICompatibleAdapter

__all__ = [
    "AdapterRegistry",
    "PreparedRequest",
    "ProviderAdapter",
    "ProviderTarget",
    "StreamTranslator",
    "Usage",
    "default_registry",
]


def default_registry() -> AdapterRegistry:
    """Every adapter we ship. `vllm` and `openai-compatible` have none: forwarded as bytes."""
    registry = AdapterRegistry()
    registry.register(OpenAICompatibleAdapter("openai"))
    registry.register(OpenAICompatibleAdapter("groq", has_embeddings=False))
    registry.register(OpenAICompatibleAdapter("huggingface"))
    registry.register(AnthropicAdapter())
    registry.register(GeminiAdapter())
    return registry
