"""Each body field sealed on its own under the envelope KEK (aistrale_common.crypto, as
user-org seals provider credentials), bound to its org, event and field: a ciphertext
copied onto another row, or into the other field, does not open."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aistrale_common.crypto import KeyRing
from aistrale_common.events.request_body import RequestBodyV1

PROMPT, COMPLETION = "prompt", "completion"


def context(org_id: str, event_id: str, part: str) -> str:
    return f"request-body/org:{org_id}/event:{event_id}/{part}"


def sealed_row(keyring: KeyRing, body: RequestBodyV1) -> dict[str, Any]:
    event_id = str(body.usage_event_id)  # a redelivered body is the same row

    def seal(text: str, part: str) -> str:
        return keyring.encrypt(text, context(body.org_id, event_id, part))

    completion = body.completion
    return {
        "event_id": event_id,
        "org_id": body.org_id,
        "request_id": body.request_id,
        "occurred_at": body.occurred_at,
        "region": body.region,
        "kek_id": keyring.primary.id,
        "prompt_sealed": seal(body.prompt, PROMPT),
        "completion_sealed": seal(completion, COMPLETION) if completion is not None else None,
        "prompt_truncated": body.prompt_truncated,
        "completion_truncated": body.completion_truncated,
        # Retention runs from when the request happened, as the org's setting promised.
        "expires_at": body.occurred_at + timedelta(days=body.retention_days),
    }


def opened(keyring: KeyRing, row: dict[str, Any]) -> dict[str, Any]:
    org_id, event_id = row["org_id"], row["event_id"]
    completion = row["completion_sealed"]
    return {
        "prompt": keyring.decrypt(row["prompt_sealed"], context(org_id, event_id, PROMPT)),
        "prompt_truncated": row["prompt_truncated"],
        "completion": (
            keyring.decrypt(completion, context(org_id, event_id, COMPLETION))
            if completion is not None
            else None
        ),
        "completion_truncated": row["completion_truncated"],
    }
