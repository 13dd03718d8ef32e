"""Turn a message body into a usage event, or refuse it as poison (never half-accept)."""

from __future__ import annotations

from aistrale_common.events.schemas import UsageEventV1

# The widest values the columns hold; anything wider is a malformed event.
_MAX_LENGTHS = {
    "org_id": 64,
    "key_id": 64,
    "project_id": 64,
    "request_id": 128,
    "endpoint": 64,
    "model": 200,
    "served_model": 200,
    "provider": 64,
    "deployment": 200,
    "error_type": 64,
    "fallback_from": 200,
}


class PoisonMessage(ValueError):
    """The message can never be stored: retrying will not help."""


def decode_event(body: bytes) -> UsageEventV1:
    try:
        event = UsageEventV1.model_validate_json(body)
    except ValueError as exc:
        raise PoisonMessage(f"not a usage event v1: {exc}") from exc
    for field, limit in _MAX_LENGTHS.items():
        value = getattr(event, field)
        if value is not None and len(value) > limit:
            raise PoisonMessage(f"{field} longer than {limit} characters")
    return event
