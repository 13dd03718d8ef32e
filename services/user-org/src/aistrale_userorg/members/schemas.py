"""Wire models for org memberships."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from aistrale_userorg.schemas import RoleField, UtcDatetime


class MemberUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "admin"}]})
    role: RoleField


class MemberPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "member",
                    "org_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                    "user_id": "5f0c7d0e-1111-4a4a-9b9b-222233334444",
                    "email": "grace@example.com",
                    "role": "member",
                    "created_at": "2026-11-22T10:02:00Z",
                }
            ]
        }
    )
    object: Literal["member"] = "member"
    org_id: str
    user_id: str
    email: str
    role: RoleField
    created_at: UtcDatetime
