"""`{{variable}}` placeholders in prompt templates: checked when user-org stores a template,
filled in when the router applies one. One parser for both sides, so a template user-org
accepted is one the router can render."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# A placeholder: `{{ name }}`, spaces allowed inside the braces.
PLACEHOLDER = re.compile(r"\{\{\s*(" + NAME + r")\s*\}\}")
# Anything that opens or closes like a placeholder; what PLACEHOLDER does not match is malformed.
BRACES = re.compile(r"\{\{.*?\}\}|\{\{|\}\}", re.DOTALL)

Role = Literal["system", "developer", "user", "assistant"]


class TemplateMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    content: str = Field(max_length=100_000)


class PromptVersion(BaseModel):
    """One version of a template, as user-org's internal API gives it to the router."""

    id: str
    org_id: str
    name: str
    version: int
    messages: list[TemplateMessage]
    model: str | None = None
    variables: list[str]


class MalformedPlaceholder(ValueError):
    """A `{{` or `}}` that is not a `{{name}}` placeholder."""


def variables_of(texts: Iterable[str]) -> list[str]:
    """The variables the texts use, in order of first use; raises MalformedPlaceholder."""
    names: dict[str, None] = {}
    for text in texts:
        for match in BRACES.finditer(text):
            placeholder = PLACEHOLDER.fullmatch(match.group(0))
            if placeholder is None:
                raise MalformedPlaceholder(f"malformed placeholder {match.group(0)[:40]!r}")
            names[placeholder.group(1)] = None
    return list(names)


def render(text: str, values: Mapping[str, str]) -> str:
    """Every placeholder replaced by its value; the caller checked none is missing. The
    values are inserted as they are: a value's own braces are never read as placeholders."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
