"""The key lookup's answer; the router parses it as its KeyRecord (a contract test checks)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from aistrale_userorg.schemas import Period, UtcDatetime


class BudgetRule(BaseModel):
    scope: Literal["org", "key"]
    scope_id: str
    limit_micro_usd: int
    period: Period


class KeyLookup(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key_id": "0b5e8f7e-3f0a-4a43-9a39-5a0e7b1f2c33",
                    "org_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                    "project_id": None,
                    "status": "active",
                    "expires_at": None,
                    "allowed_models": ["gemma-3-270m"],
                    "rpm_limit": 60,
                    "tpm_limit": 100000,
                    "org_rpm_limit": 600,
                    "org_tpm_limit": None,
                    "budgets": [
                        {
                            "scope": "org",
                            "scope_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                            "limit_micro_usd": 50000000,
                            "period": "month",
                        }
                    ],
                }
            ]
        }
    )
    key_id: str
    org_id: str
    project_id: str | None
    status: Literal["active", "revoked", "expired"]
    expires_at: UtcDatetime | None
    allowed_models: list[str] | None
    rpm_limit: int | None
    tpm_limit: int | None
    org_rpm_limit: int | None
    org_tpm_limit: int | None
    budgets: list[BudgetRule]
    # Keys created with require_signature: the HMAC secret the router verifies requests with.
    signing_secret: str | None = None
