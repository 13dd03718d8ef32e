"""Wire schemas shared by producers and consumers: usage event v1 and control events.

The schema lives here once; both sides test against it (DESIGN.md "Contracts").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

USAGE_SCHEMA_VERSION = 1
ControlEventType = Literal[
    "key.revoked", "key.updated", "org.updated", "budget.updated", "credential.updated"
]


class UsageEventV1(BaseModel):
    """One metered request. Money is integer micro-USD, never float."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: str
    org_id: str
    project_id: str | None = None
    key_id: str
    endpoint: str
    model: str
    served_model: str | None = None
    provider: str | None = None
    deployment: str | None = None
    stream: bool = False
    status: int
    error_type: str | None = None
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)
    tokens_estimated: bool = False
    cost_micro_usd: int = Field(default=0, ge=0)
    latency_ms: float = Field(ge=0)
    ttft_ms: float | None = Field(default=None, ge=0)
    attempts: int = Field(default=1, ge=0)
    fallback_from: str | None = None

    def routing_key(self) -> str:
        return f"usage.v1.{self.org_id}"


class ControlEvent(BaseModel):
    """A change in user-org that routers must see within a second."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: ControlEventType
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    org_id: str | None = None
    key_id: str | None = None
    key_hash: str | None = None
    provider: str | None = None  # credential.updated: whose provider key changed

    def routing_key(self) -> str:
        return self.type
