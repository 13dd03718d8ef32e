"""One fault at a time under load (docs/soak.md): what each does to the platform,
how it ends, and which errors clients may see while it lasts.

Every dependency is taken away the way production loses it, without touching the shared
servers: Postgres, Redis and RabbitMQ behind a TCP proxy that is cut, user-org stopped (SIGSTOP) or
refusing connections, the router killed and started again.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from aistrale_common.settings import tooling_variable

from .load import Load, Outcome, Phase, Record
from .platform import Platform
from .tenants import Key

RECOVERY_S = 2.0  # after a fault ends, everything must work again within this
# The outages in `make soak`; in `make test` shorter, still past the soak timers
# (a lease lives 6 s, a cached key 3 s), to keep the suite's time.
LONG = float(tooling_variable("AISTRALE_SOAK_S", "60")) >= 300
CUT_S = 10.0 if LONG else 8.0
USER_ORG_DOWN_S = 30.0 if LONG else 12.0
BEFORE_S, AFTER_S = 4.0, 6.0
ALWAYS_FINE = frozenset({"ok", "rate_limit_exceeded", "insufficient_quota"})


@dataclass(frozen=True)
class Fault:
    name: str
    seconds: float
    begin: Callable[[Platform], None]
    end: Callable[[Platform], None]
    allowed: frozenset[str]  # what clients may see while it lasts, beyond ALWAYS_FINE
    # Long streams started just before the fault, by length in tokens (50 ms each).
    long_streams: tuple[int, ...] = ()


def _restart_router(platform: Platform) -> None:
    platform.router.start()


def _terminate_router(platform: Platform) -> None:
    platform.router.proc.send_signal(signal.SIGTERM)


def _restart_router_once_stopped(platform: Platform) -> None:
    platform.router.proc.wait(SHUTDOWN_GRACE_S + 30)
    platform.router.start()


SHUTDOWN_GRACE_S = 8.0  # the faults' platform runs with this grace
FITS, OUTLIVES = 120, 400  # tokens: a 6 s stream ends within the grace, a 20 s one does not


FAULTS = {
    "redis_cut": Fault(
        "redis_cut",
        CUT_S,
        lambda p: p.proxies["redis"].cut(),
        lambda p: p.proxies["redis"].restore(),
        frozenset({"service_unavailable"}),  # fail_closed, for keys that need Redis
    ),
    "rabbitmq_cut": Fault(
        "rabbitmq_cut",
        CUT_S,
        lambda p: p.proxies["amqp"].cut(),
        lambda p: p.proxies["amqp"].restore(),
        frozenset(),
    ),
    "postgres_cut": Fault(
        "postgres_cut",
        CUT_S,
        lambda p: p.proxies["postgres"].cut(),
        lambda p: p.proxies["postgres"].restore(),
        frozenset(),  # keys are served from the router's cache; consumers wait it out
    ),
    "userorg_stopped": Fault(
        "userorg_stopped",
        USER_ORG_DOWN_S,
        lambda p: p.userorg.pause(),
        lambda p: p.userorg.resume(),
        frozenset(),
    ),
    "userorg_refused": Fault(
        "userorg_refused",
        USER_ORG_DOWN_S,
        lambda p: p.proxies["user-org"].cut(),
        lambda p: p.proxies["user-org"].restore(),
        frozenset(),
    ),
    "router_killed": Fault(
        "router_killed", 0.5, lambda p: p.router.kill(), _restart_router, frozenset({"transport"})
    ),
    "router_terminated": Fault(
        "router_terminated",
        0.5,
        _terminate_router,
        _restart_router_once_stopped,
        # New connections are refused once it stops listening; what outlives the grace is
        # ended by the router (a 503, or a stream's SSE error event).
        frozenset({"transport", "server_shutting_down", "stream_error:server_shutting_down"}),
        long_streams=(FITS, OUTLIVES),
    ),
}


@dataclass(frozen=True)
class Window:
    begun: float  # monotonic
    ended: float

    def touches(self, outcome: Outcome) -> bool:
        return outcome.ended >= self.begun and outcome.started <= self.ended + RECOVERY_S


async def under_load(
    platform: Platform, keys: list[Key], fault: Fault, concurrency: int = 8
) -> tuple[Record, Window]:
    load = Load(platform.router.url, keys, seed=hash(fault.name) & 0xFFFF)
    total = BEFORE_S + fault.seconds + AFTER_S
    running = asyncio.create_task(load.run([Phase(total, concurrency)]))
    await asyncio.sleep(BEFORE_S)
    streams = [asyncio.create_task(load.long_stream(keys[0], n)) for n in fault.long_streams]
    await asyncio.sleep(0.5 if streams else 0)  # they are streaming
    begun = time.monotonic()
    await asyncio.to_thread(fault.begin, platform)
    await asyncio.sleep(fault.seconds)
    await asyncio.to_thread(fault.end, platform)
    ended = time.monotonic()
    record = await running
    record.long_streams = list(await asyncio.gather(*streams))
    record.outcomes += record.long_streams
    return record, Window(begun, ended)


def unexpected(record: Record, window: Window, fault: Fault) -> list[Outcome]:
    """Outcomes the declared policy does not explain: any error outside the fault (and its
    recovery time), or one inside it of a kind the fault may not cause."""
    wrong = []
    for outcome in record.outcomes:
        if outcome.code in ALWAYS_FINE:
            continue
        if not window.touches(outcome) or outcome.code not in fault.allowed:
            wrong.append(outcome)
    return wrong
