"""Wire schemas shared by producers and consumers: usage event v1 and control events.

The schema lives here once; both sides test against it (DESIGN.md "Contracts").
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

USAGE_SCHEMA_VERSION = 1

# Usage event limits: analytics' column types (its migrations are the source of truth and
# services/analytics/tests checks they agree). A producer fits its values in
# (`UsageEventV1.fitted`); a consumer refuses an event that does not fit.
_NO_NUL = r"^[^\x00]*$"  # Postgres text cannot hold U+0000
Id = Annotated[str, StringConstraints(max_length=64, pattern=_NO_NUL)]  # ids, short words
RequestId = Annotated[str, StringConstraints(max_length=128, pattern=_NO_NUL)]
Name = Annotated[str, StringConstraints(max_length=200, pattern=_NO_NUL)]  # models, deployments
# Per event. Tokens and money (a million USD): far above any real request, and low enough
# that a rollup (BIGINT) summing a million such events cannot overflow, and that a JSON
# reader holding numbers as doubles reads them exactly. Counts fit the INTEGER columns.
MAX_TOKENS: Final = 10**12
MAX_MICRO_USD: Final = 10**12
MAX_COUNT: Final = 2**31 - 1
ControlEventType = Literal[
    "key.revoked",
    "key.updated",
    "org.updated",
    "budget.updated",
    "credential.updated",
    "user.updated",  # a user's memberships, roles or sessions changed: drop cached decisions
    "prompt.updated",  # a prompt template got a version or was archived (prompt_id)
    "guardrails.updated",  # an org's guardrail settings changed
]


class UsageEventV1(BaseModel):
    """One metered request. Money is integer micro-USD, never float."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: RequestId
    org_id: Id
    project_id: Id | None = None
    key_id: Id
    endpoint: Id
    model: Name
    served_model: Name | None = None
    provider: Id | None = None
    deployment: Name | None = None
    stream: bool = False
    status: int = Field(ge=100, le=599)
    error_type: Id | None = None
    prompt_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS)
    completion_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS)
    cached_tokens: int = Field(default=0, ge=0, le=MAX_TOKENS)
    tokens_estimated: bool = False
    cost_micro_usd: int = Field(default=0, ge=0, le=MAX_MICRO_USD)
    latency_ms: float = Field(ge=0, allow_inf_nan=False)
    ttft_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    attempts: int = Field(default=1, ge=0, le=MAX_COUNT)
    fallback_from: Name | None = None
    # Answered from the router's exact cache (docs/router.md "Answer cache"): nothing was
    # sent upstream, the cost is 0, and `saved_micro_usd` is what the cached answer cost.
    cached: bool = False
    saved_micro_usd: int = Field(default=0, ge=0, le=MAX_MICRO_USD)
    # The deployment's region from the catalog (data residency, docs/usage-pipeline.md);
    # None when the deployment names none or the request never reached one.
    region: Id | None = None
    # An experiment's name (`model` then names it too) and the arm that served the request.
    experiment: Name | None = None
    arm: Id | None = None

    @classmethod
    def fitted(cls, **values: Any) -> UsageEventV1:
        """The event a producer can always publish: as given when it is valid (the common
        case costs nothing more), else with text stripped of NULs and cut to its limit,
        integers clamped into range and a latency that is not a number made 0. A missing
        field or a wrong type still raises: that is a bug, not a value to fit."""
        try:
            return cls(**values)
        except ValidationError:
            return cls(**_fit(values))

    def routing_key(self) -> str:
        return f"usage.v1.{self.org_id}"


def _limits(model: type[BaseModel]) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """Read from the schema itself, so that the limits are written down once (above)."""
    texts: dict[str, int] = {}
    ints: dict[str, tuple[int, int]] = {}
    for name, prop in model.model_json_schema()["properties"].items():
        for option in prop.get("anyOf", [prop]):
            if "maxLength" in option:
                texts[name] = option["maxLength"]
            if option.get("type") == "integer" and "maximum" in option:
                ints[name] = (option["minimum"], option["maximum"])
    return texts, ints


TEXT_LIMITS, INT_RANGES = _limits(UsageEventV1)


def _fit(values: dict[str, Any]) -> dict[str, Any]:
    fitted = dict(values)
    for name, limit in TEXT_LIMITS.items():
        text = values.get(name)
        if isinstance(text, str):
            fitted[name] = text.replace("\x00", "")[:limit]
    for name, (low, high) in INT_RANGES.items():
        number = values.get(name)
        if isinstance(number, int) and not isinstance(number, bool):
            fitted[name] = min(max(number, low), high)
    for name in ("latency_ms", "ttft_ms"):
        ms = values.get(name)
        if isinstance(ms, float) and not (math.isfinite(ms) and ms >= 0):
            fitted[name] = 0.0
    return fitted


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
    user_id: str | None = None  # user.updated: whose access changed
    prompt_id: str | None = None  # prompt.updated: which template

    def routing_key(self) -> str:
        return self.type
