"""Wire models for API keys. The plaintext key appears once, in KeyCreated."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from aistrale_common.tags import TagList
from aistrale_userorg.schemas import (
    PRINTABLE,
    QUEUE_PRIORITY,
    QUEUE_WAIT,
    Limit,
    Name,
    QueuePriority,
    QueueWait,
    UtcDatetime,
)

ModelName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
]
ModelList = Annotated[list[ModelName], Field(max_length=200)]
ProjectId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=PRINTABLE),
]
KeyStatus = Literal["active", "revoked", "expired"]
TAGS = "Routing tags the model catalog's rules match (docs/router.md); lower-case, at most 32"


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "backend-prod",
                    "rpm_limit": 600,
                    "tpm_limit": 100000,
                    "allowed_models": ["smollm2-135m"],
                    "expires_at": "2030-01-01T00:00:00Z",
                    "tags": ["premium"],
                }
            ]
        }
    )
    name: Name
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    allowed_models: ModelList | None = Field(default=None, description="null: every model")
    expires_at: UtcDatetime | None = None
    project_id: ProjectId | None = None
    require_signature: bool = Field(
        default=False,
        description="Requests must be HMAC-signed with the `signing_secret` (docs/security.md)",
    )
    tags: TagList = Field(default=[], description=TAGS)
    queue_wait_s: QueueWait | None = Field(default=None, description=QUEUE_WAIT)
    queue_priority: QueuePriority | None = Field(default=None, description=QUEUE_PRIORITY)


class KeyUpdate(BaseModel):
    """Only the fields sent change (a null name is ignored); null removes a limit, the model
    restriction or the expiry; an expiry in the past expires the key now."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"rpm_limit": 120}]})
    name: Name | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    allowed_models: ModelList | None = None
    expires_at: UtcDatetime | None = None
    tags: TagList | None = Field(default=None, description=TAGS + "; null or [] removes them")
    queue_wait_s: QueueWait | None = Field(default=None, description=QUEUE_WAIT)
    queue_priority: QueuePriority | None = Field(default=None, description=QUEUE_PRIORITY)


KEY_EXAMPLE: JsonDict = {
    "object": "api_key",
    "id": "0b5e8f7e-3f0a-4a43-9a39-5a0e7b1f2c33",
    "org_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
    "project_id": None,
    "name": "backend-prod",
    "prefix": "sk-Q2x9aZ",
    "status": "active",
    "created_by": "5f0c7d0e-1111-4a4a-9b9b-222233334444",
    "created_at": "2026-11-22T10:05:00Z",
    "expires_at": None,
    "revoked_at": None,
    "last_used_at": "2026-11-22T11:00:00Z",
    "allowed_models": ["smollm2-135m"],
    "rpm_limit": 60,
    "tpm_limit": 100000,
    "tags": ["premium"],
}


class KeyPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                KEY_EXAMPLE,
            ]
        }
    )
    object: Literal["api_key"] = "api_key"
    id: str
    org_id: str
    project_id: str | None
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    status: KeyStatus
    created_by: str | None
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    revoked_at: UtcDatetime | None
    last_used_at: UtcDatetime | None
    allowed_models: list[str] | None
    rpm_limit: int | None
    tpm_limit: int | None
    tags: list[str] = []
    queue_wait_s: float | None = None
    queue_priority: int | None = None


class KeyCreated(KeyPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**KEY_EXAMPLE, "key": "sk-Q2x9aZ...43 url-safe characters in all"}]
        }
    )
    key: str = Field(description="The API key (sk-...), shown this once only")
    signing_secret: str | None = Field(
        default=None, description="With require_signature: the HMAC secret, shown this once"
    )
