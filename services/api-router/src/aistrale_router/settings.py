"""api-router settings: every environment variable this service reads, in one place."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field

from aistrale_common.settings import SecretName, ServiceSettings

SERVICE = "api-router"


class Settings(ServiceSettings):
    # user-org's /internal/v1 key lookups; the router verifies no admin tokens.
    required_secrets: ClassVar[tuple[SecretName, ...]] = ("service_token",)

    port: int = 8080
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AISTRALE_API_ROUTER_DATABASE_URL", "database_url"),
    )
    user_org_url: str = "http://127.0.0.1:8081"
    models_file: Path = Path("models.yaml")
    catalog_poll_s: float = Field(default=1.0, gt=0)  # how often the file's mtime is checked

    # Key cache (docs/router.md "Keys"). A revoked key is refused at once by control events;
    # the TTLs only bound how stale an answer can be if an event is missed. Past its TTL a
    # key is served at once while one background refresh asks user-org.
    key_cache_ttl_s: float = Field(default=30.0, ge=0)
    key_negative_ttl_s: float = Field(default=5.0, ge=0)
    key_stale_grace_s: float = Field(default=300.0, ge=0)  # user-org down: seen keys still work
    key_cache_size: int = Field(default=100_000, gt=0)
    key_lookup_timeout_s: float = Field(default=2.0, gt=0)
    # A key whose refresh failed is refreshed again after this, doubling up to the max.
    key_refresh_retry_s: float = Field(default=0.5, gt=0)
    key_refresh_retry_max_s: float = Field(default=5.0, gt=0)
    # After a failed lookup, for this long, keys changed by a control event are served from
    # their last answer at once (and refreshed behind) instead of waiting for user-org.
    key_userorg_failing_s: float = Field(default=10.0, gt=0)
    # Org provider keys (BYOK), memory only: dropped at once by `credential.updated` control
    # events; the TTL bounds how long a missed event can leave an old key in use.
    org_credentials_ttl_s: float = Field(default=60.0, ge=0)
    # Prompt templates and guardrail settings, likewise: `prompt.updated` and
    # `guardrails.updated` drop them at once; the TTL bounds a missed event.
    governance_ttl_s: float = Field(default=60.0, ge=0)

    # `n` and `best_of` above this are refused with 400: each choice is reserved in full
    # against the budget and the token windows (docs/budgets.md).
    max_choices: int = Field(default=16, ge=1, le=128)
    # A request body past this size is refused with 413 before it is parsed.
    max_request_bytes: int = Field(default=32 * 1024 * 1024, gt=0)

    # Upstream forwarding.
    upstream_connect_timeout_s: float = Field(default=3.0, gt=0)
    upstream_first_byte_timeout_s: float = Field(default=120.0, gt=0)
    upstream_chunk_timeout_s: float = Field(default=60.0, gt=0)
    upstream_max_connections: int = Field(default=512, gt=0)  # per upstream origin
    upstream_client: Literal["lean", "aiohttp"] = "lean"
    upstream_ca_file: str | None = None  # extra CA bundle for TLS upstreams (private CAs)
    upstream_max_attempts: int = Field(default=3, ge=1)
    upstream_backoff_s: float = Field(default=0.05, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_open_s: float = Field(default=10.0, gt=0)
    health_probe_interval_s: float = Field(default=10.0, gt=0)
    # vLLM load reports (docs/router.md "Routing"): /metrics scraped this often, trusted for
    # three intervals; a deployment with more requests waiting is tried after the others.
    vllm_load_interval_s: float = Field(default=2.0, gt=0)
    vllm_waiting_limit: int = Field(default=8, ge=0)

    # Budgets and rate limits (admission/, docs/budgets.md).
    budget_redis_down_policy: Literal["fail_closed", "fail_open"] = "fail_closed"
    reservation_ttl_s: int = Field(default=600, gt=0)  # must exceed the longest request
    budget_min_output_tokens: int = Field(default=16, ge=1)  # below this: insufficient_quota
    budget_stream_extension_tokens: int = Field(default=64, ge=1)
    budget_redis_timeout_s: float = Field(default=1.0, gt=0)
    budget_redis_retry_s: float = Field(default=1.0, gt=0)  # how long a failure is trusted
    # Leases (admission/leases.py): a busy key is admitted in process from slices of its
    # limits held in Redis, 1/divisor of each limit at most; 0 turns leases off.
    budget_lease_divisor: int = Field(default=64, ge=0)
    # fail_open only: the most of a budget line's limit one replica spends from its own
    # fallback per period while Redis is down (never more than it last saw left).
    budget_fail_open_share: float = Field(default=0.05, ge=0, le=1)
    budget_lease_ttl_s: float = Field(default=60.0, gt=1)
    budget_lease_idle_s: float = Field(default=10.0, gt=0)

    # Answer cache (answer_cache/, docs/router.md "Answer cache"), for the models whose
    # catalog entry has `cache: {ttl_s}`. Its own Redis URL if set, else AISTRALE_REDIS_URL,
    # else in process. A store slower than the timeout, or failing, is a miss (and is left
    # alone for retry_s); answers bigger than max_bytes are not kept.
    answer_cache_redis_url: str | None = None
    answer_cache_timeout_s: float = Field(default=0.25, gt=0)
    answer_cache_retry_s: float = Field(default=1.0, ge=0)
    answer_cache_max_bytes: int = Field(default=1024 * 1024, gt=0)
    # Answers this replica kept or read lately, in process until their expiry (0: off).
    answer_cache_local_max_bytes: int = Field(default=16 * 1024 * 1024, ge=0)

    # Queueing (queueing/, docs/router.md "Queueing"): how long a request may wait for a
    # deployment at its max_concurrency or for its key's RPM window (0: a 429 at once, as
    # without a queue; a model's queue_wait_s overrides it), and how many may wait at once.
    queue_wait_s: float = Field(default=0.0, ge=0, le=600)
    queue_max_depth: int = Field(default=256, ge=0)

    # Usage outbox (docs/usage-pipeline.md): how long a replayer holds the rows it claimed.
    # Must exceed the publish timeout (5 s); a replica that dies mid-replay frees its rows
    # when it runs out.
    usage_outbox_lease_s: float = Field(default=30.0, gt=0)
    # Every usage event is also appended to a journal under AISTRALE_DATA_DIR until it is
    # durable elsewhere, so a killed router loses none (metering/journal.py).
    usage_journal: bool = True
    # Prometheus: `org_id` on the token and cost counters, for at most this many orgs per
    # replica (the rest count as "other"); off by default: cardinality (docs/observability.md).
    metrics_org_label: bool = False
    metrics_org_label_max: int = Field(default=100, ge=1, le=10_000)

    # Responses API (`store`, docs/router.md "Responses API"): stored responses are kept this
    # long (OpenAI keeps them 30 days), then purged every `responses_purge_interval_s`.
    responses_retention_s: int = Field(default=30 * 86_400, gt=0)
    responses_purge_interval_s: float = Field(default=3600.0, gt=0)

    def referenced_variables(self) -> frozenset[str]:
        """The platform keys the catalog names (`api_key_env`): the operator picks those names.
        A catalog that does not parse names none here; the app reports it at startup."""
        from aistrale_router.catalog.store import read_catalog

        with contextlib.suppress(Exception):
            catalog = read_catalog(self.models_file)
            return frozenset(
                d.api_key_env for m in catalog.models for d in m.deployments if d.api_key_env
            )
        return frozenset()

    def database_url_or_embedded(self) -> str:
        return self.database_url or self.embedded_database_url(SERVICE)
