"""Wire models of the exports API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, model_validator

ExportStatus = Literal["pending", "running", "succeeded", "failed"]
ExportFormat = Literal["csv"]


class ExportCreate(BaseModel):
    start: datetime
    end: datetime
    format: ExportFormat = "csv"

    @model_validator(mode="after")
    def _ordered(self) -> ExportCreate:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class ExportPublic(BaseModel):
    id: str
    org_id: str
    status: ExportStatus
    format: ExportFormat
    start: datetime
    end: datetime
    created_at: datetime
    finished_at: datetime | None = None
    rows: int | None = None
    url: str | None = None
    url_expires_in_s: int | None = None
    error: str | None = None
