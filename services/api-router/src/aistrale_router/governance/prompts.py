"""A request's `prompt` reference (OpenAI's reusable prompts: `{"id", "version"?,
"variables"?}`) rendered into messages that go before the request's own.

Protocol-neutral: `read_reference` parses the field, `render_messages` gives the messages
as role/content dicts; each inbound protocol puts them where its own messages go (chat:
`messages`; Responses: `input`; Anthropic Messages: system prompts to `system`, the rest
before `messages`). See docs/router.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aistrale_common.errors import InvalidRequest, NotFound
from aistrale_common.governance.templates import PromptVersion, render
from aistrale_router.governance.sources import GovernanceSource

MAX_VALUE_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class PromptReference:
    id: str
    version: int | None
    variables: dict[str, str]


def read_reference(value: Any) -> PromptReference:
    if not isinstance(value, dict):
        raise InvalidRequest("'prompt' must be an object with an 'id'.", param="prompt")
    prompt_id = value.get("id")
    if not isinstance(prompt_id, str) or not prompt_id or len(prompt_id) > 64:
        raise InvalidRequest("'prompt.id' must be a prompt template id.", param="prompt.id")
    version = _version(value.get("version"))
    return PromptReference(prompt_id, version, _variables(value.get("variables")))


def _version(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)  # OpenAI's reusable prompts send the version as a string
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest("'prompt.version' must be a positive integer.", param="prompt.version")
    return value


def _variables(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("'prompt.variables' must be an object.", param="prompt.variables")
    out: dict[str, str] = {}
    for name, item in value.items():
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise InvalidRequest(
                f"'prompt.variables.{name}' must be a string or a number.",
                param="prompt.variables",
            )
        text = str(item)
        if len(text) > MAX_VALUE_CHARS:
            raise InvalidRequest(
                f"'prompt.variables.{name}' is too long.", param="prompt.variables"
            )
        out[name] = text
    return out


async def resolve(source: GovernanceSource, org_id: str, ref: PromptReference) -> PromptVersion:
    found = await source.prompt(org_id, ref.id, ref.version)
    if found is None:
        which = f"version {ref.version} of " if ref.version is not None else ""
        raise NotFound(
            f"No {which}prompt template `{ref.id}` exists in your organization.",
            param="prompt.version" if ref.version is not None else "prompt.id",
            code="prompt_not_found",
        )
    return found


def render_messages(template: PromptVersion, ref: PromptReference) -> list[dict[str, Any]]:
    missing = [v for v in template.variables if v not in ref.variables]
    if missing:
        names = ", ".join(f"'{v}'" for v in missing)
        raise InvalidRequest(
            f"Missing prompt variables: {names} (prompt template `{template.id}` "
            f"version {template.version}).",
            param="prompt.variables",
            code="missing_prompt_variable",
        )
    return [
        {"role": m.role, "content": render(m.content, ref.variables)} for m in template.messages
    ]
