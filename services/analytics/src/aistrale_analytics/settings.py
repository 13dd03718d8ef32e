"""analytics settings: every environment variable this service reads, in one place."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr

from aistrale_common.crypto import KeyRing, service_keyring
from aistrale_common.settings import SecretName, ServiceSettings

SERVICE = "analytics"


class Settings(ServiceSettings):
    # Admin tokens (issued by user-org) are verified here; analytics calls no service.
    required_secrets: ClassVar[tuple[SecretName, ...]] = ("jwt_secret", "service_token")

    port: int = 8082
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AISTRALE_ANALYTICS_DATABASE_URL", "database_url"),
    )

    # Authorization is asked of user-org's policy (POST /internal/v1/authorize with the
    # service token); answers are cached until a control event, and at most this long.
    user_org_url: str = "http://127.0.0.1:8081"
    authz_cache_ttl_s: float = Field(default=10.0, ge=0, le=300)
    authz_timeout_s: float = Field(default=2.0, gt=0, le=30)

    # Usage consumer: a durable quorum queue, acked only after the database commit.
    consume_usage: bool = True
    usage_queue: str = "analytics.usage"
    usage_prefetch: int = Field(default=256, ge=1, le=5000)
    usage_max_deliveries: int = Field(default=5, ge=1)
    usage_batch_size: int = Field(default=500, ge=1, le=1000)
    # A batch not yet full waits this long for more events: one transaction per event
    # costs more than the events at low load (docs/usage-pipeline.md).
    usage_linger_s: float = Field(default=0.05, ge=0, le=5)
    usage_lag_interval_s: float = Field(default=5.0, gt=0)  # consumer_lag sampling period

    # Exports: S3 when a bucket is set, else a local directory served by the API.
    exports_s3_bucket: str | None = None
    exports_s3_endpoint_url: str | None = None
    exports_s3_region: str = "us-east-1"
    exports_s3_access_key_id: str | None = Field(default=None, repr=False)
    exports_s3_secret_access_key: str | None = Field(default=None, repr=False)
    exports_dir: Path | None = None
    exports_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    exports_max_rows: int = Field(default=5_000_000, ge=1)

    # Reconciliation of analytics spend against the router's Redis budget counters.
    reconcile_interval_s: float = Field(default=300.0, gt=0)
    reconcile_enabled: bool = True

    # Request bodies of orgs that opted in (request_log/): their own queue on the usage
    # exchange, each field sealed under the envelope KEK (the same variables as user-org's
    # provider credentials), purged past the org's retention every `body_purge_interval_s`.
    consume_bodies: bool = True
    bodies_queue: str = "analytics.bodies"
    body_purge_interval_s: float = Field(default=3600.0, gt=0)
    credentials_kek: SecretStr | None = Field(default=None, repr=False)
    credentials_kek_previous: SecretStr | None = Field(default=None, repr=False)

    def bodies_keyring(self) -> KeyRing | None:
        """None in staging and production without a KEK: bodies then wait in their durable
        queue (never stored in the clear, never sealed under a key that a restart loses)."""
        if self.credentials_kek is None and self.environment in ("staging", "production"):
            return None
        return service_keyring(self.credentials_kek, self.credentials_kek_previous, self.data_dir)

    def bodies_queue_name(self) -> str:
        return f"{self.queue_prefix}{self.bodies_queue}"

    def database_url_or_embedded(self) -> str:
        return self.database_url or self.embedded_database_url(SERVICE)

    def queue_name(self) -> str:
        return f"{self.queue_prefix}{self.usage_queue}"

    def exports_directory(self) -> Path:
        return self.exports_dir or self.data_dir / "exports"
