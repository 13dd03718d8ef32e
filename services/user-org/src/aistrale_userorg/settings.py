"""user-org settings: every environment variable this service reads, in one place."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from aistrale_common.settings import ServiceSettings

SERVICE = "user-org"


class Settings(ServiceSettings):
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

    outbox_poll_s: float = Field(default=1.0, gt=0)
    outbox_batch: int = Field(default=100, ge=1)
    outbox_publish_timeout_s: float = Field(default=5.0, gt=0)
    # Keys' last-used time comes from the usage events (durable queue on the usage exchange).
    last_used_consumer: bool = True

    def database_url_or_embedded(self) -> str:
        return self.database_url or self.embedded_database_url(SERVICE)
