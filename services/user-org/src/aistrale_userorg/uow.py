"""One write = one transaction holding the change, its control events and its audit row.

Events go to the outbox table and the audit row to the hash chain inside the same
transaction, so neither can be lost or recorded for a change that rolled back. A write that
fails with one of our errors (denied, conflict, not found) is audited as a failure in a
transaction of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.db import Database, is_sqlite
from aistrale_common.errors import AistraleError
from aistrale_common.events.schemas import ControlEvent, ControlEventType
from aistrale_userorg.audit import repository as audit_repo
from aistrale_userorg.audit.chain import AuditEntry
from aistrale_userorg.outbox import repository as outbox_repo
from aistrale_userorg.principal import Principal
from aistrale_userorg.util import utcnow


@dataclass
class About:
    """What an audit row says the action was about."""

    target: str | None = None
    org_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tx:
    session: AsyncSession
    about: About
    events: list[ControlEvent] = field(default_factory=list)
    outcome: str = "success"  # a write may commit and still record a failure (a bad login)

    def emit(
        self,
        type_: ControlEventType,
        org_id: str | None,
        key_id: str | None = None,
        key_hash: str | None = None,
        provider: str | None = None,
        user_id: str | None = None,
        prompt_id: str | None = None,
    ) -> None:
        event = ControlEvent(
            type=type_,
            org_id=org_id,
            key_id=key_id,
            key_hash=key_hash,
            provider=provider,
            user_id=user_id,
            prompt_id=prompt_id,
        )
        self.events.append(event)


def _entry(actor: Principal, action: str, outcome: str, about: About) -> AuditEntry:
    return AuditEntry(
        occurred_at=utcnow(),
        action=action,
        outcome=outcome,
        actor_id=actor.id,
        actor_email=actor.email,
        target=about.target,
        org_id=about.org_id,
        source_ip=actor.ip,
        details=about.details,
    )


class UnitOfWork:
    def __init__(self, db: Database, on_events: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self._on_events = on_events
        # SQLite has one writer; serialising here avoids "database is locked" upgrades.
        self._lock = asyncio.Lock() if is_sqlite(db.url) else None

    @asynccontextmanager
    async def _serialized(self) -> AsyncIterator[None]:
        async with self._lock if self._lock is not None else contextlib.nullcontext():
            yield

    @asynccontextmanager
    async def write(
        self, actor: Principal, action: str, *, org_id: str | None = None, target: str | None = None
    ) -> AsyncIterator[Tx]:
        about = About(target=target, org_id=org_id)
        events: list[ControlEvent] = []
        try:
            async with self._serialized(), self.db.transaction() as session:
                tx = Tx(session, about, events)
                yield tx
                await outbox_repo.add(session, events)
                await audit_repo.append(session, [_entry(actor, action, tx.outcome, about)])
        except AistraleError as exc:
            failed = About(about.target, about.org_id, {"status": exc.status})
            await self.record(actor, action, f"failure:{exc.instance_code or exc.type}", failed)
            raise
        if events:
            self._on_events()

    async def record(self, actor: Principal, action: str, outcome: str, about: About) -> None:
        """An audit row on its own (failed writes, failed logins)."""
        async with self._serialized(), self.db.transaction() as session:
            await audit_repo.append(session, [_entry(actor, action, outcome, about)])
