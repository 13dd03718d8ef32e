"""Wire models for provider credentials. The key goes in once (PUT) and comes out only on
the internal route, to the router; admin answers carry its last four characters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aistrale_common.providers import BYOK_PROVIDERS
from aistrale_userorg.schemas import UtcDatetime

# The router's provider adapters (a contract test compares this with its registry).
PROVIDERS = BYOK_PROVIDERS
# Any short name reaches the service, which decides (400 on admin routes, 404 internally).
ProviderPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class CredentialSet(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"api_key": "sk-ant-api03-...your provider key"}]}
    )
    # SecretStr: a repr or a log line of the body never shows the key.
    api_key: SecretStr = Field(description="The provider's API key; never returned")


class CredentialPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "provider_credential",
                    "org_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                    "provider": "anthropic",
                    "last4": "x9Qa",
                    "created_by": "5f0c7d0e-1111-4a4a-9b9b-222233334444",
                    "created_at": "2026-11-23T09:00:00Z",
                    "updated_at": "2026-11-23T09:00:00Z",
                    "rotated_at": None,
                }
            ]
        }
    )
    object: Literal["provider_credential"] = "provider_credential"
    org_id: str
    provider: str
    last4: str = Field(description="The key's last four characters, to recognise it")
    created_by: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime = Field(description="When the key was last set (PUT)")
    rotated_at: UtcDatetime | None = Field(description="When the KEK rotation last re-wrapped it")


class CredentialSecret(BaseModel):
    """The internal route's answer (router only): what HttpOrgCredentials reads."""

    provider: str
    api_key: str


class KekRotation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"rotated": 12, "remaining_old": 0, "kek_id": "9f2c…"}]}
    )
    rotated: int = Field(description="Rows re-wrapped under the current KEK by this run")
    remaining_old: int = Field(description="Rows still under another KEK (0: drop the old KEK)")
    kek_id: str = Field(description="The current KEK's id")
