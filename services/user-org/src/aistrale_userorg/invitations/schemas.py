"""Wire models of invitations."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from aistrale_userorg.schemas import Email, RoleField, UtcDatetime

Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class InvitationCreate(BaseModel):
    """Invites an email to the org with a role. The answer is the same whether or not an
    account has this email: nothing here tells who has an account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "grace@example.com", "role": "member"}]},
    )
    email: Email
    role: RoleField


class Invitation(BaseModel):
    """`token` is shown this once: hand it to the invitee, who accepts it."""

    object: Literal["invitation"] = "invitation"
    id: str
    org_id: str
    email: str
    role: RoleField
    token: str
    created_at: UtcDatetime
    expires_at: UtcDatetime


class InvitationAccept(BaseModel):
    """`password`: the invitee's existing password, or the new account's one when the
    email has no account yet (the invitee alone decides either way)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"token": "inv-3q2...", "password": "a-password"}]},
    )
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Password
