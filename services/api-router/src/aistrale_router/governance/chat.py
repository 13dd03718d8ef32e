"""Governance for /v1/chat/completions: the `prompt` reference rendered before the
request's messages, then the org's PII guardrails on every message; the upstream body is
re-encoded only when something changed. Other protocols call `prompts` and `guard` the
same way on their own message lists (docs/router.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from aistrale_common.governance.guardrails import PiiPolicy
from aistrale_router.governance.guard import PiiGuard
from aistrale_router.governance.prompts import read_reference, render_messages, resolve
from aistrale_router.governance.sources import GovernanceSource

AnswerFilter = Callable[[bytes], bytes]


@dataclass(frozen=True, slots=True)
class Governed:
    raw: bytes  # the body to parse and send on
    answer: AnswerFilter | None = None  # applied to a non-streamed answer's body
    scanned: bool = False  # the PII guardrails read the inputs (whether or not they changed)


class Governance:
    def __init__(self, source: GovernanceSource, guard: PiiGuard) -> None:
        self.source = source
        self.guard = guard

    async def policy(self, org_id: str) -> PiiPolicy:
        return (await self.source.guardrails(org_id)).pii

    async def chat(self, raw: bytes, org_id: str) -> Governed:
        policy = await self.policy(org_id)
        # Cheap tests first: most requests name no template and most orgs scan nothing.
        if policy.action == "off" and b'"prompt"' not in raw:
            return Governed(raw)
        scanned = policy.action != "off"
        body = _object(raw)
        if body is None:
            return Governed(raw, scanned=scanned)  # parse_request says what is wrong with it
        changed = await self._apply_prompt(body, org_id)
        messages = body.get("messages")
        if isinstance(messages, list) and policy.action != "off":
            guarded = self.guard.messages(messages, policy)
            changed = changed or any(a is not b for a, b in zip(guarded, messages, strict=True))
            body["messages"] = guarded
        answer = partial(self.guard.chat_answer, policy=policy) if policy.outputs else None
        return Governed(orjson.dumps(body) if changed else raw, answer, scanned)

    async def text_inputs(self, raw: bytes, org_id: str, field: str) -> Governed:
        """/v1/completions `prompt` and /v1/embeddings `input`: a string or a list of
        strings (token ids are not text and pass as they are)."""
        policy = await self.policy(org_id)
        if policy.action == "off":
            return Governed(raw)
        body = _object(raw)
        value = body.get(field) if body is not None else None
        if body is None or value is None:
            return Governed(raw)
        if isinstance(value, str):
            guarded: Any = self.guard.text(value, policy, param=field)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            guarded = [self.guard.text(v, policy, param=field) for v in value]
        else:
            return Governed(raw)
        if guarded == value:
            return Governed(raw)
        return Governed(orjson.dumps({**body, field: guarded}))

    async def _apply_prompt(self, body: dict[str, Any], org_id: str) -> bool:
        if "prompt" not in body:
            return False
        ref = read_reference(body.pop("prompt"))  # never sent upstream
        template = await resolve(self.source, org_id, ref)
        own = body.get("messages")
        if own is not None and not isinstance(own, list):
            return True  # parse_request refuses it, naming `messages`
        body["messages"] = render_messages(template, ref) + (own or [])
        if template.model and not body.get("model"):
            body["model"] = template.model
        return True


def _object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None
