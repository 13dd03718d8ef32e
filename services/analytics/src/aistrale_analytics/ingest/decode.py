"""Turn a message body into a usage event, or refuse it as poison (never half-accept).

The schema carries every limit (text widths, number ranges, no NULs: the shared
`UsageEventV1`), so an event it accepts fits the columns; the router fits its events to
the same limits before it publishes them.
"""

from __future__ import annotations

from typing import Any

from aistrale_common.events.schemas import UsageEventV1


class PoisonMessage(ValueError):
    """The message can never be stored: retrying will not help."""


def decode_event(body: bytes) -> UsageEventV1:
    try:
        return UsageEventV1.model_validate_json(body)
    except ValueError as exc:
        raise PoisonMessage(f"not a usage event v1: {exc}") from exc


def decode_item(item: Any) -> UsageEventV1:
    """One event of a message (aistrale_common.events.usage_batch.unpack), parsed JSON."""
    try:
        return UsageEventV1.model_validate(item)
    except ValueError as exc:
        raise PoisonMessage(f"not a usage event v1: {exc}") from exc
