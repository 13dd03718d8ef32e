"""user-org settings: every environment variable this service reads, in one place."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from aistrale_common.settings import ServiceSettings

SERVICE = "user-org"


class Settings(ServiceSettings):
    port: int = 8081
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AISTRALE_USER_ORG_DATABASE_URL", "database_url"),
    )

    def database_url_or_embedded(self) -> str:
        return self.database_url or self.embedded_database_url(SERVICE)
