"""Wire models for users and admin API keys."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aistrale_userorg.schemas import Email, Name, RoleField, UtcDatetime

Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class UserCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "ada@example.com", "password": "correct horse"}]}
    )
    email: Email
    password: Password
    platform_admin: bool = False


class UserPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "user",
                    "id": "5f0c7d0e-1111-4a4a-9b9b-222233334444",
                    "email": "ada@example.com",
                    "platform_admin": False,
                    "created_at": "2026-11-22T09:00:00Z",
                }
            ]
        }
    )
    object: Literal["user"] = "user"
    id: str
    email: str
    platform_admin: bool
    created_at: UtcDatetime


class OrgRole(BaseModel):
    org_id: str
    role: RoleField


class Me(UserPublic):
    orgs: list[OrgRole]


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"current_password": "correct horse", "new_password": "battery staple"}]
        }
    )
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class AdminKeyCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "ci-pipeline"}]})
    name: Name
    expires_at: UtcDatetime | None = None


class AdminKeyPublic(BaseModel):
    object: Literal["admin_api_key"] = "admin_api_key"
    id: str
    name: str
    prefix: str
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    revoked_at: UtcDatetime | None
    last_used_at: UtcDatetime | None


class AdminKeyCreated(AdminKeyPublic):
    key: str = Field(description="The admin key (ak-...), shown this once only")
