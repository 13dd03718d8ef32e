"""Whether the platform's consumers keep up: after each run, the bench waits until analytics
has stored every request the router counted and the broker's queues are empty, and records
how long that took (the next target is measured only then, so no backlog steals its CPU).

- the router's count: `aistrale_api_router_requests_total` (every /v1 model request, counted
  where its usage event is built), from /metrics;
- analytics' count: `requests` of the org's all-time usage summary (the usage API);
- `make up` only: the depth of analytics' and user-org's durable queues (passive declare);
- the key's `last_used_at` (user-org's last-used consumer), as seen through the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aio_pika
import httpx

from bench.admin import AdminClient, Tenant

ROUTER_REQUESTS = "aistrale_api_router_requests_total{"
POLL_S = 0.5
SETTLE_S = 0.2


@dataclass(frozen=True)
class ConsumerState:
    router_requests: int
    analytics_requests: int
    queue_depths: dict[str, int] = field(default_factory=dict)
    last_used_at: datetime | None = None

    def done(self) -> dict[str, bool]:
        """Per consumer: analytics holds every request the router counted; each queue is
        empty."""
        queues = {name: depth == 0 for name, depth in self.queue_depths.items()}
        return {"analytics": self.analytics_requests == self.router_requests, **queues}

    @property
    def caught_up(self) -> bool:
        return all(self.done().values())


@dataclass(frozen=True)
class Settled:
    """What the consumers looked like once caught up (or when the wait gave up)."""

    state: ConsumerState
    drain_s: float | None  # from the end of the load until caught up; None: not within the wait
    last_used_lag_s: float | None  # end of the load minus the key's last_used_at
    # per consumer (analytics' count, each queue): seconds after the load when it caught up
    caught_up_s: dict[str, float | None] = field(default_factory=dict)


def router_requests(metrics_text: str) -> int:
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics_text.splitlines()
            if line.startswith(ROUTER_REQUESTS)
        )
    )


class QueueDepths:
    """Ready messages per durable queue (label -> queue name), over one AMQP connection
    kept for the run."""

    def __init__(self, amqp_url: str, queues: dict[str, str]) -> None:
        self._loop = asyncio.new_event_loop()
        self._queues = queues
        self._connection = self._loop.run_until_complete(aio_pika.connect(amqp_url, timeout=10))

    def read(self) -> dict[str, int]:
        return self._loop.run_until_complete(self._read())

    async def _read(self) -> dict[str, int]:
        depths = {}
        async with self._connection.channel() as channel:
            for label, name in self._queues.items():
                declared = await channel.declare_queue(name, passive=True)
                result = declared.declaration_result
                depths[label] = int(result.message_count or 0) if result else -1
        return depths

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(self._connection.close())
        self._loop.close()


class ConsumerProbe:
    def __init__(
        self,
        admin: AdminClient,
        tenant: Tenant,
        metrics_url: str,
        analytics_url: str,
        queues: QueueDepths | None = None,
    ) -> None:
        self._admin = admin
        self._tenant = tenant
        self._metrics_url = metrics_url
        self._analytics_url = analytics_url
        self._queues = queues

    def state(self, *, router: int | None = None, key: bool = True) -> ConsumerState:
        """`router`: the router's count if already read (it no longer moves once the load
        is over); `key`: read the key's last_used_at. Each call costs the platform some ms
        of CPU (docs/decisions/bench-what-users-run.md), so polls skip what they can."""
        org = self._tenant.org_id
        summary = self._admin.request(
            "GET", f"{self._analytics_url}/analytics/v1/orgs/{org}/usage/summary?period=total"
        )
        last_used = None
        if key:
            record = self._admin.request("GET", f"/admin/v1/orgs/{org}/keys/{self._tenant.key_id}")
            last_used = record.get("last_used_at")
        if router is None:
            router = router_requests(httpx.get(self._metrics_url, timeout=10).text)
        return ConsumerState(
            router_requests=router,
            analytics_requests=int(summary["totals"]["requests"]),
            queue_depths=self._queues.read() if self._queues else {},
            last_used_at=datetime.fromisoformat(last_used) if last_used else None,
        )

    def settle(self, load_ended: float, timeout_s: float) -> Settled:
        """`load_ended`: time.time() when wrk stopped."""
        deadline = time.monotonic() + timeout_s
        time.sleep(SETTLE_S)  # requests in flight when wrk stopped finish and are counted
        state = self.state(key=False)
        first: dict[str, float | None] = dict.fromkeys(state.done())
        while True:
            after = round(max(0.0, time.time() - load_ended), 2)
            for name, done in state.done().items():
                if done and first.get(name) is None:
                    first[name] = after
            if state.caught_up or time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
            state = self.state(router=state.router_requests, key=False)
        state = self.state()  # the router's count once more, and the key's last use
        lag = None
        if state.last_used_at is not None:
            lag = round(load_ended - state.last_used_at.astimezone(UTC).timestamp(), 3)
        return Settled(state, after if state.caught_up else None, lag, first)


@contextlib.contextmanager
def queue_depths(amqp_url: str, queues: dict[str, str]) -> Iterator[QueueDepths]:
    depths = QueueDepths(amqp_url, queues)
    try:
        yield depths
    finally:
        depths.close()
