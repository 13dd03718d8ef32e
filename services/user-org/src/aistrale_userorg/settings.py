"""user-org settings: every environment variable this service reads, in one place."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from aistrale_common.crypto import KeyRing, service_keyring
from aistrale_common.settings import SecretName, ServiceSettings

SERVICE = "user-org"


class Settings(ServiceSettings):
    # A refused value must not be echoed in the startup error: it may be a secret.
    model_config = SettingsConfigDict(hide_input_in_errors=True)
    # Issues admin tokens, and checks the router's token on /internal/v1.
    required_secrets: ClassVar[tuple[SecretName, ...]] = ("service_token", "jwt_secret")

    port: int = 8081
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AISTRALE_USER_ORG_DATABASE_URL", "database_url"),
    )
    # The first platform admin, created at startup when no platform admin exists yet.
    admin_email: str | None = None
    admin_password: SecretStr | None = Field(default=None, repr=False)

    access_token_ttl_s: int = Field(default=900, ge=30)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    # bcrypt work factor; 12 is the production default, tests lower it to stay fast.
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    # Login back-off: after `login_max_failures` failures the account (or unknown email) is
    # locked for `login_lockout_s`, doubling with each further failure up to the cap.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_s: int = Field(default=30, ge=1)
    login_lockout_max_s: int = Field(default=900, ge=1)
    # Per client address: this many failed logins (any emails) in the window, then 429 with
    # Retry-After until the window ends (one address trying many emails learns nothing).
    login_ip_max_failures: int = Field(default=20, ge=1)
    login_ip_window_s: int = Field(default=300, ge=1)

    # Platform policy: platform admins must sign in with TOTP. None: required in staging and
    # production, optional in development and test (docs/security.md).
    require_platform_admin_mfa: bool | None = None

    # How long an invitation (POST /orgs/{id}/members) can be accepted.
    invitation_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)

    # Console sessions (HTTP-only cookie, server-side record): an idle session ends after
    # `session_idle_timeout_s` without a call, any session `session_absolute_timeout_s`
    # after sign-in. Stored in Redis when AISTRALE_REDIS_URL is set, else in process.
    session_idle_timeout_s: float = Field(default=1800.0, gt=0)
    session_absolute_timeout_s: float = Field(default=12 * 3600.0, gt=0)

    # The web console's built bundle, served at /console (the image sets it; unset: none).
    console_dist_dir: Path | None = None

    outbox_poll_s: float = Field(default=1.0, gt=0)
    outbox_batch: int = Field(default=100, ge=1)
    outbox_publish_timeout_s: float = Field(default=5.0, gt=0)
    # Keys' last-used time comes from the usage events (durable queue on the usage exchange).
    last_used_consumer: bool = True
    # One statement per batch (docs/decisions/userorg-last-used-group-commit.md): the
    # prefetch bounds how many deliveries one batch can coalesce.
    last_used_prefetch: int = Field(default=512, ge=1, le=5000)
    last_used_batch_size: int = Field(default=512, ge=1, le=5000)
    # A last-used time may be a second late: a batch not yet full waits this long for more.
    last_used_linger_s: float = Field(default=1.0, ge=0, le=10)

    # Provider credentials (BYOK) are sealed under this KEK (32 bytes, base64); previous KEKs
    # (comma-separated) are read while a rotation re-wraps rows (docs/providers.md).
    credentials_kek: SecretStr | None = Field(default=None, repr=False)
    credentials_kek_previous: SecretStr | None = Field(default=None, repr=False)
    # How often the rotation job looks for rows under a previous KEK (only when one is set).
    credentials_rotation_interval_s: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _require_real_kek(self) -> Settings:
        if self.environment in ("staging", "production") and self.credentials_kek is None:
            raise ValueError(f"AISTRALE_CREDENTIALS_KEK must be set in {self.environment}")
        if self.credentials_kek is not None:
            self.keyring()  # a malformed KEK fails at startup, not at the first credential
        return self

    def keyring(self) -> KeyRing:
        """The KEKs; in development and test a generated one, persisted under data_dir."""
        return service_keyring(self.credentials_kek, self.credentials_kek_previous, self.data_dir)

    def platform_admin_mfa_required(self) -> bool:
        if self.require_platform_admin_mfa is not None:
            return self.require_platform_admin_mfa
        return self.environment in ("staging", "production")

    def database_url_or_embedded(self) -> str:
        return self.database_url or self.embedded_database_url(SERVICE)
