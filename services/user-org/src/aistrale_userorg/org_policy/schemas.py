"""Wire models for an org's logging and residency settings."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from aistrale_common.events.request_body import MAX_RETENTION_DAYS

Region = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
DEFAULT_RETENTION_DAYS = 30


class LoggingSettings(BaseModel):
    """Whether the router stores this org's prompts and answers (encrypted, in analytics),
    and for how long. Off unless an owner or admin switches it on."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"bodies": True, "retention_days": 7}]}
    )
    bodies: bool = False
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=MAX_RETENTION_DAYS)


class ResidencySettings(BaseModel):
    """The regions (the catalog's deployment `region`) the org's requests may be served in;
    null: anywhere. An empty list would refuse every request: use null to lift it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"regions": ["eu"]}]})
    regions: list[Region] | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.regions is not None and not self.regions:
            raise ValueError("regions must name at least one region, or be null")
        return self
