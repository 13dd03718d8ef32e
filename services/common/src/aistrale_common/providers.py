"""Provider names: what a catalog deployment may name (the router) and what an org may bring
its own key for (user-org's provider credentials). A contract between the two services."""

from __future__ import annotations

from typing import Literal, get_args

ProviderName = Literal[
    "vllm", "openai", "anthropic", "gemini", "groq", "huggingface", "openai-compatible"
]
PROVIDER_NAMES: frozenset[str] = frozenset(get_args(ProviderName))
# vllm and openai-compatible deployments use the catalog's key: nothing for an org to bring.
CATALOG_KEYED: frozenset[str] = frozenset({"vllm", "openai-compatible"})
BYOK_PROVIDERS: frozenset[str] = PROVIDER_NAMES - CATALOG_KEYED
