"""An org's guardrail settings: what user-org stores and the router enforces."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The entity types the router detects (Presidio's names, so findings read the same).
PiiEntity = Literal[
    "EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE", "IP_ADDRESS", "US_SSN"
]
ALL_ENTITIES: tuple[PiiEntity, ...] = (
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
)
PiiAction = Literal["off", "redact", "block"]


class PiiPolicy(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "redact", "entities": ["EMAIL_ADDRESS", "CREDIT_CARD"], "outputs": True}
            ]
        },
    )
    action: PiiAction = "off"
    entities: list[PiiEntity] = Field(
        default_factory=lambda: list(ALL_ENTITIES),
        description="Entity types to act on; all of them by default",
    )
    outputs: bool = Field(default=False, description="Also redact non-streamed answers")


class Guardrails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pii: PiiPolicy = Field(default_factory=PiiPolicy)
