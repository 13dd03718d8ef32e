"""What the router knows about an API key: the answer of user-org's internal key lookup.

Wire contract (DESIGN.md "Key lookup"): `GET /internal/v1/keys/{sha256_hex}` with
`Authorization: Bearer <service token>` answers 200 with this JSON, or 404 for an unknown key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Period = Literal["day", "month", "total"]


class BudgetRule(BaseModel):
    """A hard budget that applies to requests made with the key."""

    model_config = ConfigDict(frozen=True)

    scope: Literal["org", "key"]
    scope_id: str
    limit_micro_usd: int
    period: Period


class KeyRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    key_id: str
    org_id: str
    project_id: str | None = None
    status: Literal["active", "revoked", "expired"]
    expires_at: datetime | None = None
    allowed_models: list[str] | None = None  # None: every model in the catalog
    rpm_limit: int | None = None  # per key; None: no limit
    tpm_limit: int | None = None
    org_rpm_limit: int | None = None
    org_tpm_limit: int | None = None
    budgets: list[BudgetRule] = []
    # Keys that require HMAC-signed requests (keys/signatures.py); never logged.
    signing_secret: str | None = Field(default=None, repr=False)
