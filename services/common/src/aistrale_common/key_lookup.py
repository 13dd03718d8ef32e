"""The key lookup, router → user-org (DESIGN.md "Key lookup"): one model for both sides.

`GET /internal/v1/keys/{sha256_hex}` with `Authorization: Bearer <service token>` answers
200 with a `KeyLookup`, or 404 for an unknown key. user-org serves it; the router parses it
(as its `KeyRecord`) and caches it. Unknown fields are ignored, so user-org may add one
before every router knows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from aistrale_common.budget_counters import Scope
from aistrale_common.budget_periods import Period

KeyStatus = Literal["active", "revoked", "expired"]


class BudgetRule(BaseModel):
    """A hard budget that applies to requests made with the key."""

    model_config = ConfigDict(frozen=True)

    scope: Scope
    scope_id: str
    limit_micro_usd: int
    period: Period


_EXAMPLE: dict[str, JsonValue] = {
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
    "tags": ["premium"],
    "org_tags": [],
    "queue_wait_s": 5.0,
    "queue_priority": 7,
    "budgets": [
        {
            "scope": "org",
            "scope_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
            "limit_micro_usd": 50000000,
            "period": "month",
        }
    ],
    "allowed_regions": ["eu"],
    "log_bodies": False,
    "log_retention_days": None,
}


_NO_TAGS: frozenset[str] = frozenset()


class KeyLookup(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", json_schema_extra={"examples": [_EXAMPLE]}
    )

    key_id: str
    org_id: str
    project_id: str | None = None
    status: KeyStatus
    expires_at: datetime | None = None  # UTC, timezone-aware
    allowed_models: list[str] | None = None  # None: every model in the catalog
    rpm_limit: int | None = None  # per key; None: no limit
    tpm_limit: int | None = None
    org_rpm_limit: int | None = None
    org_tpm_limit: int | None = None
    budgets: list[BudgetRule] = []
    # Keys created with require_signature: the HMAC secret the router verifies requests
    # with (keys/signatures.py there); never logged.
    signing_secret: str | None = Field(default=None, repr=False)
    # Data residency: the regions the org's requests may be served in (None: anywhere).
    allowed_regions: list[str] | None = None
    # Request bodies: stored (encrypted, in analytics) only when the org opted in.
    log_bodies: bool = False
    log_retention_days: int | None = None
    # Routing tags (aistrale_common.tags), the key's own and its org's; a router older than
    # them ignores both, and an older user-org sends neither (empty).
    tags: list[str] = []
    org_tags: list[str] = []
    # Queueing (docs/router.md "Queueing"), effective: the key's, else its org's, else None
    # (the router's model/default wait; priority 0). Older routers ignore them.
    queue_wait_s: float | None = None
    queue_priority: int | None = None

    def all_tags(self) -> frozenset[str]:
        """Computed each time (≈0.1 µs untagged): a cached value would survive model_copy."""
        if not self.tags and not self.org_tags:
            return _NO_TAGS
        return frozenset(self.tags).union(self.org_tags)
