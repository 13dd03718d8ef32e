"""The one usage value every relay produces and metering, settlement and pricing read."""

from __future__ import annotations

from aistrale_router.usage.value import Usage

__all__ = ["Usage"]
