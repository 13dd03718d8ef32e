"""Wire models of the audit log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from aistrale_userorg.schemas import UtcDatetime


class AuditRecord(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "audit_entry",
                    "seq": 42,
                    "occurred_at": "2026-11-22T10:05:00Z",
                    "actor_id": "5f0c7d0e-1111-4a4a-9b9b-222233334444",
                    "actor_email": "ada@example.com",
                    "action": "key.revoke",
                    "target": "0b5e8f7e-3f0a-4a43-9a39-5a0e7b1f2c33",
                    "org_id": "7d7c2a52-5a2e-4bd0-9d7e-0b8f0f6c1c11",
                    "source_ip": "10.0.0.7",
                    "outcome": "success",
                    "details": {},
                    "hash": "4be1...",
                }
            ]
        }
    )
    object: Literal["audit_entry"] = "audit_entry"
    seq: int
    occurred_at: UtcDatetime
    actor_id: str | None
    actor_email: str | None
    action: str
    target: str | None
    org_id: str | None
    source_ip: str | None
    outcome: str
    details: dict[str, Any]
    hash: str


class ChainVerification(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "checked": 1234,
                    "head_seq": 1234,
                    "head_hash": "9f2c...",
                    "first_bad_seq": None,
                    "reason": None,
                }
            ]
        }
    )
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
