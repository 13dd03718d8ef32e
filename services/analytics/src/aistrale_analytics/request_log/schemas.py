"""Wire models of the request log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class RequestRow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "req_5c1f",
                    "occurred_at": "2026-12-07T10:00:00Z",
                    "key_id": "0b5e8f7e",
                    "model": "gemma-3-270m",
                    "deployment": "eu-1",
                    "provider": "vllm",
                    "region": "eu",
                    "status": 200,
                    "prompt_tokens": 12,
                    "completion_tokens": 40,
                    "cost_micro_usd": 92,
                    "latency_ms": 310.5,
                    "ttft_ms": 80.2,
                    "cached": False,
                    "error_code": None,
                }
            ]
        }
    )
    request_id: str
    occurred_at: datetime
    key_id: str
    model: str
    deployment: str | None
    provider: str | None
    region: str | None
    status: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int
    latency_ms: float
    ttft_ms: float | None
    cached: bool
    error_code: str | None


class RequestPage(BaseModel):
    object: Literal["list"] = "list"
    data: list[RequestRow]
    next_cursor: str | None  # pass back as `cursor` for the next (older) page; null: no more


class Body(BaseModel):
    prompt: str
    prompt_truncated: bool
    completion: str | None
    completion_truncated: bool


class RequestDetail(RequestRow):
    bodies: Body | None = None  # with ?include=bodies, when the org had opted in


class BodyRead(BaseModel):
    """One read of a request's bodies: the audit of who saw an org's prompts."""

    id: str
    request_id: str
    user_id: str
    read_at: datetime
    bodies: int  # 0: the request had no stored body (not opted in, or purged)
