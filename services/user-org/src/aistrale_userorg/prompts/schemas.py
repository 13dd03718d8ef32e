"""Wire models for prompt templates."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aistrale_common.governance.templates import TemplateMessage
from aistrale_userorg.schemas import UtcDatetime

EXAMPLE_MESSAGES: list[Any] = [
    {"role": "system", "content": "You answer questions about {{product}}."},
    {"role": "user", "content": "My name is {{name}}."},
]


class PromptCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "support", "messages": EXAMPLE_MESSAGES}]},
    )
    name: str = Field(min_length=1, max_length=200)
    messages: list[TemplateMessage] = Field(min_length=1, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()


class PromptUpdate(BaseModel):
    """A new version: new messages (and model); the description may change with it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"messages": EXAMPLE_MESSAGES}]}
    )
    messages: list[TemplateMessage] = Field(min_length=1, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class PromptPublic(BaseModel):
    object: Literal["prompt"] = "prompt"
    id: str
    org_id: str
    name: str
    description: str | None
    version: int = Field(description="The version shown (the latest unless asked)")
    latest_version: int
    messages: list[TemplateMessage]
    model: str | None
    variables: list[str] = Field(description="Placeholders the messages use, in order")
    created_at: UtcDatetime
    updated_at: UtcDatetime
    archived_at: UtcDatetime | None


class PromptVersionPublic(BaseModel):
    object: Literal["prompt.version"] = "prompt.version"
    prompt_id: str
    version: int
    messages: list[TemplateMessage]
    model: str | None
    variables: list[str]
    created_at: UtcDatetime
    created_by: str | None
