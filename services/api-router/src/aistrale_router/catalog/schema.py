"""The model catalog (DESIGN.md "What users rely on"), read from AISTRALE_MODELS_FILE.

```yaml
models:
  - name: gemma-3-270m
    deployments:
      - provider: openai-compatible    # vllm | openai | anthropic | gemini | groq |
        base_url: http://127.0.0.1:8090/v1   #   huggingface | openai-compatible
        model: gemma-3-270m
        api_key_env: null
        weight: 1
    fallbacks: []
    max_output_tokens: 4096
    pricing: {input_micro_usd_per_mtok: 0, output_micro_usd_per_mtok: 0}
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aistrale_common.providers import ProviderName


class Pricing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_micro_usd_per_mtok: int = Field(ge=0)
    output_micro_usd_per_mtok: int = Field(ge=0)
    cached_input_micro_usd_per_mtok: int | None = Field(default=None, ge=0)


class AnswerCachePolicy(BaseModel):
    """`cache: {ttl_s: 300}`: identical non-streamed requests of one org are answered from
    the exact cache for this long (docs/router.md "Answer cache")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_s: float = Field(gt=0, le=30 * 86_400)


class Deployment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: ProviderName
    base_url: str
    model: str
    api_key_env: str | None = None
    weight: int = Field(default=1, ge=0)
    name: str | None = None  # defaults to provider:base_url
    # The server software, where the router must treat it specially. `llama.cpp`: chat
    # template special tokens (`<|im_end|>`, `<end_of_turn>`...) are stripped from answers.
    engine: Literal["llama.cpp"] | None = None
    # Requests this router replica sends it at once at most; more wait in the queue (up to
    # the model's queue_wait_s) or get a 429 (docs/router.md "Queueing"). None: no cap.
    max_concurrency: int | None = Field(default=None, ge=1)
    # Where it runs, for data residency (routing/residency.py): an org restricted to some
    # regions is only ever sent to deployments that name one of them.
    region: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")

    @property
    def id(self) -> str:
        return self.name or f"{self.provider}:{self.base_url}"


class ModelEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    deployments: list[Deployment] = Field(min_length=1)
    fallbacks: list[str] = []
    pricing: Pricing | None = None
    max_output_tokens: int = Field(default=4096, gt=0)
    context_window: int | None = Field(default=None, gt=0)
    endpoints: list[Literal["chat", "completions", "embeddings"]] = [
        "chat",
        "completions",
        "embeddings",
    ]
    cache: AnswerCachePolicy | None = None  # None: never cached
    # How long a request may wait for a deployment under its max_concurrency, or for its
    # key's RPM window, before the 429; None: the router's AISTRALE_QUEUE_WAIT_S.
    queue_wait_s: float | None = Field(default=None, ge=0, le=600)


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: list[ModelEntry] = []

    def get(self, name: str) -> ModelEntry | None:
        return next((m for m in self.models if m.name == name), None)
