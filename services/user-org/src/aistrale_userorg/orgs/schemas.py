"""Wire models for orgs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aistrale_common.tags import TagList
from aistrale_userorg.schemas import (
    QUEUE_PRIORITY,
    QUEUE_WAIT,
    Email,
    Limit,
    Name,
    QueuePriority,
    QueueWait,
    RoleField,
    UtcDatetime,
)

TAGS = "Routing tags every key of the org has too (docs/router.md); lower-case, at most 32"


class OrgCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "acme", "owner_email": "ada@example.com"}]}
    )
    name: Name
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    owner_email: Email | None = None
    tags: TagList = Field(default=[], description=TAGS)
    queue_wait_s: QueueWait | None = Field(default=None, description=QUEUE_WAIT)
    queue_priority: QueuePriority | None = Field(default=None, description=QUEUE_PRIORITY)


class OrgUpdate(BaseModel):
    """Only the fields sent change (a null name is ignored); send null to remove a limit."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"rpm_limit": 600, "tpm_limit": 200000}]}
    )
    name: Name | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    tags: TagList | None = Field(default=None, description=TAGS + "; null or [] removes them")
    queue_wait_s: QueueWait | None = Field(default=None, description=QUEUE_WAIT)
    queue_priority: QueuePriority | None = Field(default=None, description=QUEUE_PRIORITY)


class OrgPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "organization",
                    "id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                    "name": "acme",
                    "created_at": "2026-11-22T10:00:00Z",
                    "rpm_limit": 600,
                    "tpm_limit": 200000,
                    "tags": [],
                    "role": "owner",
                }
            ]
        }
    )
    object: Literal["organization"] = "organization"
    id: str
    name: str
    created_at: UtcDatetime
    rpm_limit: int | None
    tpm_limit: int | None
    tags: list[str] = []
    queue_wait_s: float | None = None
    queue_priority: int | None = None
    role: RoleField | None = None  # the caller's role in the org
