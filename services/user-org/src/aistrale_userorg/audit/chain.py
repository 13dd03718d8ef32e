"""The audit log's hash chain: each row's hash covers its content and the previous hash.

Editing a row breaks its own hash; deleting one breaks the sequence or the next row's link;
deleting the newest rows no longer matches the chain head stored beside the log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aistrale_userorg.util import as_utc

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    occurred_at: datetime
    action: str
    outcome: str
    actor_id: str | None = None
    actor_email: str | None = None
    target: str | None = None
    org_id: str | None = None
    source_ip: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def details_json(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def row_hash(seq: int, prev_hash: str, row: dict[str, Any]) -> str:
    content = {
        "seq": seq,
        "prev": prev_hash,
        "occurred_at": as_utc(row["occurred_at"]).isoformat(timespec="microseconds"),
        "actor_id": row["actor_id"],
        "actor_email": row["actor_email"],
        "action": row["action"],
        "target": row["target"],
        "org_id": row["org_id"],
        "source_ip": row["source_ip"],
        "outcome": row["outcome"],
        "details": row["details"],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "occurred_at": entry.occurred_at,
        "actor_id": entry.actor_id,
        "actor_email": entry.actor_email,
        "action": entry.action,
        "target": entry.target,
        "org_id": entry.org_id,
        "source_ip": entry.source_ip,
        "outcome": entry.outcome,
        "details": details_json(entry.details),
    }
