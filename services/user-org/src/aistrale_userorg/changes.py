"""What a create's or an update's audit record says (keys and orgs alike)."""

from __future__ import annotations

from typing import Any

# Fields routing follows (tags pick pools, queue settings pick waits and places in the
# queue): the audit log says their values, not just that they changed.
VALUED = ("queue_wait_s", "queue_priority")


def audit_details(changes: dict[str, Any]) -> dict[str, Any]:
    """Which fields changed; for tags and queue settings, what they are now: routing follows
    them, so the audit log must say who gave a key or an org which."""
    details: dict[str, Any] = {"changed": sorted(changes)}
    if "tags" in changes:
        details["tags"] = changes["tags"] or []
    details.update({name: changes[name] for name in VALUED if name in changes})
    return details


def created_details(row: dict[str, Any]) -> dict[str, Any]:
    """The routing fields a new key or org was given (empty: none of them)."""
    details: dict[str, Any] = {"tags": row["tags"]} if row.get("tags") else {}
    details.update({name: row[name] for name in VALUED if row.get(name) is not None})
    return details
