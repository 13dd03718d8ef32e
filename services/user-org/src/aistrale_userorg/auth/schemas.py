"""Wire models of the OAuth2 token endpoint: three grants, one form."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from aistrale_userorg.schemas import PRINTABLE

FormText = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Username = Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=PRINTABLE)]


class PasswordGrant(BaseModel):
    """Sign in with email and password (the OAuth2 password grant)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "ada@example.com", "password": "pw"}]}
    )
    grant_type: Literal["password"] = "password"
    username: Username
    password: FormText
    totp: FormText | None = None  # a TOTP or recovery code, for users with MFA enabled


class RefreshGrant(BaseModel):
    """Trade a refresh token (single use) for a new access and refresh token."""

    grant_type: Literal["refresh_token"]
    refresh_token: FormText


class AdminKeyGrant(BaseModel):
    """Trade an admin API key (ak-...) for an access token, for automation."""

    grant_type: Literal["client_credentials"]
    client_secret: FormText


Grant = PasswordGrant | RefreshGrant | AdminKeyGrant
GRANTS: dict[str, type[Grant]] = {
    "password": PasswordGrant,
    "refresh_token": RefreshGrant,
    "client_credentials": AdminKeyGrant,
}


def token_request_body() -> dict[str, Any]:
    """OpenAPI requestBody for the form: exactly one of the three grants."""
    variants = [model.model_json_schema() for model in GRANTS.values()]
    form = {"schema": {"oneOf": variants}}
    return {"required": True, "content": {"application/x-www-form-urlencoded": form}}


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIs...",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "rt-3q2+7w...",
                }
            ]
        }
    )
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int
    refresh_token: str | None = None
