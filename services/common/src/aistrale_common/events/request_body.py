"""Request body event v1: the prompt and answer of one request of an org that opted in.

Router → the `usage` exchange, routing key `body.v1.<org_id>`, a queue of its own in
analytics (docs/decisions/log-bodies-separate-event.md). The routing key is outside the
`usage.v1.#` binding on purpose: user-org's last-used consumer and the usage consumer never
see bodies, and the usage event of an org that did not opt in carries not one byte more.

Each text is capped at `MAX_BODY_BYTES` of UTF-8, cut on a character boundary, with a
`*_truncated` flag. The prompt is what the router sent upstream (after its own input
handling, so a redaction step there applies to what is stored), the completion what the
client received.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from aistrale_common.events.schemas import Id, RequestId

MAX_BODY_BYTES: Final = 64 * 1024
MAX_RETENTION_DAYS: Final = 3650
BODY_ROUTING_PREFIX: Final = "body.v1."
BODY_BINDING: Final = "body.v1.#"


class RequestBodyV1(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)  # this message's own id
    # The request's usage event: one body per usage event (analytics' key for it). Not the
    # message id: the router's outbox keys rows by message id, and holds both events.
    usage_event_id: uuid.UUID
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: RequestId
    org_id: Id
    key_id: Id
    region: Id | None = None
    retention_days: int = Field(ge=1, le=MAX_RETENTION_DAYS)
    prompt: str = Field(max_length=MAX_BODY_BYTES)
    prompt_truncated: bool = False
    completion: str | None = Field(default=None, max_length=MAX_BODY_BYTES)
    completion_truncated: bool = False

    def routing_key(self) -> str:
        return f"{BODY_ROUTING_PREFIX}{self.org_id}"


def capped(data: bytes | str, limit: int = MAX_BODY_BYTES) -> tuple[str, bool]:
    """The text within `limit` UTF-8 bytes, cut on a character boundary, and whether it was
    cut. Bytes that are not UTF-8 are replaced, not refused: a body is evidence, not input."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) <= limit:
        return raw.decode(errors="replace").replace("\x00", ""), False
    return raw[:limit].decode(errors="ignore").replace("\x00", ""), True
