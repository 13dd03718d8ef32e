"""Wire models of TOTP enrolment."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=32)]


class TotpEnrolment(BaseModel):
    """Add `otpauth_uri` (or `secret`) to an authenticator app, then verify a first code."""

    secret: str
    otpauth_uri: str


class TotpVerify(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "492039"}]})
    code: Code


class RecoveryCodes(BaseModel):
    """Shown this once; each signs in once in place of a TOTP code."""

    recovery_codes: list[str]
