"""PII guardrails on a request's text, by the org's policy: `redact` replaces each finding
with `<ENTITY_TYPE>` before any upstream sees it, `block` refuses the request (400
`pii_detected`, naming entity types, never values). Findings are counted per entity type.

Protocol-neutral: `messages` takes role/content messages (content a string or a list of
parts; text parts of one message are scanned as one text, so a number split across two
parts is still found), `text` a bare string (a Responses `input`, an Anthropic `system`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from prometheus_client import Counter

from aistrale_common.errors import InvalidRequest
from aistrale_common.governance.guardrails import PiiPolicy
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.governance.pii import Finding, find, redact


class PiiGuard:
    def __init__(self, detections: Counter) -> None:
        self._detections = detections

    def text(self, text: str, policy: PiiPolicy, param: str = "input") -> str:
        if policy.action == "off":
            return text
        findings = find(text, policy.entities)
        if not findings:
            return text
        self._act(findings, policy, param)
        return redact(text, findings)

    def messages(
        self, messages: Sequence[Any], policy: PiiPolicy, param: str = "messages"
    ) -> list[Any]:
        """The messages as the upstream may see them (the same objects when nothing was
        found); raises PiiDetected under `block`."""
        if policy.action == "off":
            return list(messages)
        scanned = [(m, _parts(m), find(_joined(m), policy.entities)) for m in messages]
        every = [f for _, _, found in scanned for f in found]
        if not every:
            return list(messages)
        self._act(every, policy, param)
        return [_redacted(m, parts, found) if found else m for m, parts, found in scanned]

    def chat_answer(self, body: bytes, policy: PiiPolicy) -> bytes:
        """A non-streamed chat completion with its choices' text redacted (outputs: true).
        Never blocked: the answer is generated and paid for; the client gets it redacted."""
        if policy.action == "off" or not policy.outputs:
            return body
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        choices = answer.get("choices") if isinstance(answer, dict) else None
        changed = False
        for choice in choices if isinstance(choices, list) else ():
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                changed = self._redact_content(message, policy) or changed
        return orjson.dumps(answer) if changed else body

    def _redact_content(self, message: dict[str, Any], policy: PiiPolicy) -> bool:
        findings = find(message["content"], policy.entities)
        if findings:
            self._count(findings, "redact")
            message["content"] = redact(message["content"], findings)
        return bool(findings)

    def _act(self, findings: Iterable[Finding], policy: PiiPolicy, param: str) -> None:
        found = list(findings)
        self._count(found, policy.action)
        if policy.action == "block":
            kinds = ", ".join(sorted({f.entity for f in found}))
            raise InvalidRequest(
                f"The request contains personal data that your organization's guardrails "
                f"block: {kinds}.",
                param=param,
                code="pii_detected",
            )

    def _count(self, findings: Iterable[Finding], action: str) -> None:
        for f in findings:
            self._detections.labels(f.entity, action).inc()


def _parts(message: Any) -> list[tuple[int, int, int]]:
    """(index in content, start, end) of each text part within the message's joined text."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    spans, at = [], 0
    for i, part in enumerate(content):
        text = _part_text(part)
        if text is not None:
            spans.append((i, at, at + len(text)))
            at += len(text)
    return spans


def _part_text(part: Any) -> str | None:
    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
        return str(part["text"])
    return None


def _joined(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(t for t in map(_part_text, content) if t is not None)
    return ""


def _redacted(
    message: dict[str, Any], parts: list[tuple[int, int, int]], found: list[Finding]
) -> dict[str, Any]:
    content = message["content"]
    if isinstance(content, str):
        return {**message, "content": redact(content, found)}
    joined = _joined(message)
    new_content = list(content)
    for index, start, end in parts:
        new_content[index] = {**content[index], "text": _clip(joined, start, end, found)}
    return {**message, "content": new_content}


def _clip(joined: str, start: int, end: int, found: list[Finding]) -> str:
    """One part's text, redacted: a finding that spans parts is replaced in the part where
    it starts and cut from the others."""
    out, at = [], start
    for f in found:
        if f.end <= start or f.start >= end:
            continue
        out.append(joined[at : max(at, f.start)])
        if f.start >= start:
            out.append(f"<{f.entity}>")
        at = min(end, f.end)
    out.append(joined[at:end])
    return "".join(out)


def pii_detections(metrics: ServiceMetrics) -> Counter:
    """`aistrale_pii_detections_total{entity,action}`: one name for every protocol, without
    the service prefix, as docs/security.md names it."""
    return Counter(
        "aistrale_pii_detections",
        "PII findings in requests (and answers) by entity type and the action taken",
        ("entity", "action"),
        registry=metrics.registry,
    )
