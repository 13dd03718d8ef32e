"""What an update's audit record says it changed (keys and orgs alike)."""

from __future__ import annotations

from typing import Any


def audit_details(changes: dict[str, Any]) -> dict[str, Any]:
    """Which fields changed; for tags, which ones they are now: routing follows them, so
    the audit log must say who gave a key or an org which tags."""
    details: dict[str, Any] = {"changed": sorted(changes)}
    if "tags" in changes:
        details["tags"] = changes["tags"] or []
    return details
