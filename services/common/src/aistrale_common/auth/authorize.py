"""The authorization contract between user-org (which decides) and the services that ask
it (analytics): POST /internal/v1/authorize with the service token. Written once, here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

PATH = "/internal/v1/authorize"


class AuthorizeRequest(BaseModel):
    """Analytics asks whether a signed-in user may do one of its actions on an org."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"user_id": "5f0c7d0e-1111", "action": "usage.read", "org_id": "7d7c"}]
        },
    )
    user_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    # Only other services' actions: this endpoint is not a way to probe user-org's own.
    action: Annotated[str, StringConstraints(pattern=r"^usage\.[a-z_]{1,32}$")]
    org_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    mfa: bool = False  # the caller's session passed MFA (the policy may require it)


Decision = Literal["allow", "forbidden", "not_found", "unauthenticated"]


class AuthorizeDecision(BaseModel):
    """`not_found`: the user is not in the org (answer 404, as if it did not exist);
    `forbidden`: in the org, but the role does not allow it (403); `unauthenticated`: the
    user no longer exists (401)."""

    decision: Decision
