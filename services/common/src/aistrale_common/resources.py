"""Connections every service opens in its lifespan: its database and the event bus.

An event bus passed in (the single-process platform shares one in-memory bus) is used,
not owned: the caller closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aistrale_common.db import Database
from aistrale_common.events import EventBus, open_event_bus
from aistrale_common.health import Check


@dataclass
class CoreResources:
    db: Database
    bus: EventBus

    def checks(self) -> dict[str, Check]:
        return core_checks(self.db, self.bus)


def core_checks(db: Database, bus: EventBus) -> dict[str, Check]:
    return {"database": db.ping, "event_bus": bus.ping}


@asynccontextmanager
async def open_core(
    database_url: str, amqp_url: str | None, bus: EventBus | None = None
) -> AsyncIterator[CoreResources]:
    db = Database(database_url)
    owned_bus = None
    try:
        if bus is None:
            bus = owned_bus = await open_event_bus(amqp_url)
        yield CoreResources(db=db, bus=bus)
    finally:
        if owned_bus is not None:
            await owned_bus.close()
        await db.close()


async def _not_started() -> None:
    raise RuntimeError("service has not finished starting")


NOT_STARTED: Mapping[str, Check] = {"lifespan": _not_started}
