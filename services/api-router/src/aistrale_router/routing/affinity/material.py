"""What an affinity key is made of: the API key's id, or the head of the prompt.

`prefix`: the text the upstream's prefix cache would share between requests — the system
(and developer) messages and the first message after them, role-tagged, cut at
`prefix_chars` (~1,000 tokens). The first turn of a conversation and every later turn
(which repeats it) hash alike, and so do all requests of an application whose system
prompt fills the cap. Later messages are not hashed: a conversation growing by a turn must
not move to another replica (docs/decisions/router-routing-affinity.md). Completions and
embeddings hash the head of their prompt/input.

Computed only for models whose policy asks for affinity: one blake2b over at most a few KB.
"""

from __future__ import annotations

from typing import Any

from aistrale_router.catalog.schema import RoutingPolicy
from aistrale_router.routing.affinity.ring import key_point

_LEADING_ROLES = ("system", "developer")


def affinity_key(policy: RoutingPolicy, key_id: str, body: dict[str, Any]) -> int | None:
    if policy.affinity == "key":
        return key_point(key_id.encode())
    if policy.affinity == "prefix":
        return key_point(prefix_text(body, policy.prefix_chars).encode("utf-8", "surrogatepass"))
    return None


def prefix_text(body: dict[str, Any], limit: int) -> str:
    messages = body.get("messages")
    if isinstance(messages, list):
        return _chat_head(messages, limit)
    prompt = body.get("prompt", body.get("input"))
    if isinstance(prompt, list):
        prompt = prompt[0] if prompt else ""
    return str(prompt)[:limit]


def _chat_head(messages: list[Any], limit: int) -> str:
    parts: list[str] = []
    size = 0
    for message in messages:
        if not isinstance(message, dict):
            break
        role = str(message.get("role"))
        text = f"{role}\x00{_content(message.get('content'))}\x00"
        parts.append(text)
        size += len(text)
        if size >= limit or role not in _LEADING_ROLES:
            break
    return "".join(parts)[:limit]


def _content(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # parts: the text ones carry the shared prefix
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
        )
    return ""
