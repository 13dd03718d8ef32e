"""Wire models for budgets. Money is integer micro-USD (1 USD = 1,000,000)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aistrale_common.budget_periods import Period
from aistrale_userorg.schemas import UtcDatetime


class BudgetSet(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"limit_micro_usd": 50_000_000, "period": "month"}]}
    )
    # Up to one billion USD: far above any budget, and exact as a JSON number.
    limit_micro_usd: int = Field(ge=0, le=10**15, description="Hard limit in micro-USD")
    period: Period = Field(description="day and month reset at UTC boundaries; total never")


class BudgetPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "budget",
                    "org_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                    "scope": "org",
                    "scope_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                    "limit_micro_usd": 50000000,
                    "period": "month",
                    "updated_at": "2026-11-22T10:10:00Z",
                }
            ]
        }
    )
    object: Literal["budget"] = "budget"
    org_id: str
    scope: Literal["org", "key"]
    scope_id: str
    limit_micro_usd: int
    period: Period
    updated_at: UtcDatetime
