"""The seam between the hot path and the usage pipeline (issue 6 fills it in).

`submit` never blocks and never raises: the event is queued and published off the critical
path, with a durable outbox when RabbitMQ is away.
"""

from __future__ import annotations

from typing import Protocol

from aistrale_common.events.schemas import UsageEventV1


class UsageSink(Protocol):
    def submit(self, event: UsageEventV1) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Flush or persist everything in flight (graceful shutdown, SIGTERM)."""
        ...
