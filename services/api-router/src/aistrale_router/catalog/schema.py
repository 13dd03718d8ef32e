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
        pricing: null                  # overrides the model's pricing for this deployment
        probe: false                   # hosted providers: GET {base_url}/models as health
    aliases: [gpt-5]                   # other names clients ask for: served as this model
    fallbacks: []
    routing: {strategy: weighted, affinity: none}   # see RoutingPolicy
    max_output_tokens: 4096
    pricing: {input_micro_usd_per_mtok: 0, output_micro_usd_per_mtok: 0}
```
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from aistrale_common.providers import ProviderName
from aistrale_common.tags import Tag, TagList


class Pricing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_micro_usd_per_mtok: int = Field(ge=0)
    output_micro_usd_per_mtok: int = Field(ge=0)
    cached_input_micro_usd_per_mtok: int | None = Field(default=None, ge=0)


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
    # Where it runs, for data residency (routing/residency.py): an org restricted to some
    # regions is only ever sent to deployments that name one of them.
    region: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    # What this deployment costs, when it differs from the model's `pricing` (the `cost`
    # strategy ranks by it, the usage event's cost uses it).
    pricing: Pricing | None = None
    # Hosted providers are not probed unless asked (a probe spends their quota): with
    # `probe: true` the health prober GETs {base_url}/models on them too.
    probe: bool = False
    # The pool a routing rule can reserve this deployment in (routing/rules.py).
    pool: Tag | None = None

    @property
    def id(self) -> str:
        return self.name or f"{self.provider}:{self.base_url}"


Strategy = Literal["weighted", "least_load", "latency", "cost"]
Affinity = Literal["none", "key", "prefix"]


class RoutingPolicy(BaseModel):
    """How a model's deployments are ordered (docs/router.md "Routing")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: Strategy = "weighted"
    affinity: Affinity = "none"
    # Bounded load: an affine deployment is passed over when its load would exceed
    # `load_factor` times the average (Mirrokni et al.'s c).
    load_factor: float = Field(default=1.25, ge=1.0)
    # How much of the prompt `prefix` affinity hashes (~1,000 tokens).
    prefix_chars: int = Field(default=4096, gt=0)


class PoolRule(BaseModel):
    """Keys with any of `tags` (their own or their org's) use only the deployments in
    `pool`; with `exclusive`, keys without them never use that pool (routing/rules.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tags: TagList = Field(min_length=1)
    pool: Tag
    exclusive: bool = False


class ModelEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    deployments: list[Deployment] = Field(min_length=1)
    # Names clients ask for that an admin maps onto this model (`claude-sonnet-4-5`, `gpt-5`):
    # routed, limited, priced and metered as this model.
    aliases: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    fallbacks: list[str] = []
    pricing: Pricing | None = None
    max_output_tokens: int = Field(default=4096, gt=0)
    context_window: int | None = Field(default=None, gt=0)
    routing: RoutingPolicy = RoutingPolicy()
    endpoints: list[Literal["chat", "completions", "embeddings"]] = [
        "chat",
        "completions",
        "embeddings",
    ]
    rules: list[PoolRule] = []

    @model_validator(mode="after")
    def _pools_exist(self) -> ModelEntry:
        pools = {d.pool for d in self.deployments}
        for rule in self.rules:
            if rule.pool not in pools:
                raise ValueError(f"model {self.name}: no deployment is in pool {rule.pool}")
        return self


class Arm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Tag
    model: str  # a catalog model's name
    weight: int = Field(ge=0)


class Experiment(BaseModel):
    """A name clients ask for as a model, served by one of its arms' models, chosen by
    weight; sticky per key, per the request's `user`, or not (routing/experiments.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    arms: list[Arm] = Field(min_length=1)
    sticky: Literal["key", "user", "none"] = "key"

    @model_validator(mode="after")
    def _arms(self) -> Experiment:
        if len({a.name for a in self.arms}) != len(self.arms):
            raise ValueError(f"experiment {self.name}: arm names must differ")
        if sum(a.weight for a in self.arms) <= 0:
            raise ValueError(f"experiment {self.name}: some arm needs a weight above 0")
        return self


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: list[ModelEntry] = []
    experiments: list[Experiment] = []
    _by_name: dict[str, ModelEntry] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _names_are_unique(self) -> Catalog:
        """A name or an alias names one model: the catalog is refused at load otherwise.
        Then the experiments, which need those names (one validator: a fixed order)."""
        for model in self.models:
            names = [model.name, *model.aliases]
            for name in names:
                if self._by_name.setdefault(name, model) is not model or names.count(name) > 1:
                    raise ValueError(f"the model name `{name}` is given twice (names and aliases)")
        self._check_experiments()
        return self

    def _check_experiments(self) -> None:
        for experiment in self.experiments:
            if experiment.name in self._by_name:
                raise ValueError(f"experiment {experiment.name} has a model's name")
            for arm in experiment.arms:
                if arm.model not in self._by_name:
                    raise ValueError(f"experiment {experiment.name}: no model {arm.model}")

    def get(self, name: str) -> ModelEntry | None:
        """The model a client's name means: its own name or one of its aliases."""
        return self._by_name.get(name)

    def experiment(self, name: str) -> Experiment | None:
        return next((e for e in self.experiments if e.name == name), None)
