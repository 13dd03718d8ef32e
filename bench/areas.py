"""py-spy stacks grouped into the platform's parts ("where the time goes"), by file path.

A stack belongs to the first *owner* found from the root (a consumer, an API), else to the
first *area* found from the leaf (the most specific part of the request path); the rest is
the event loop and whatever has no pattern here. Keep the patterns in step with the code's
layout: a moved module shows up as "event loop / other".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

OWNERS = (
    ("user-org last-used consumer (incl. SQL)", ("aistrale_userorg/keys/last_used",)),
    ("user-org key lookup API (incl. SQL)", ("aistrale_userorg/internal",)),
    ("analytics ingest (incl. SQL)", ("aistrale_analytics/ingest",)),
    ("analytics usage API (bench polls)", ("aistrale_analytics/usage",)),
    ("user-org admin API (bench polls)", ("aistrale_userorg/keys/api", "aistrale_userorg/auth")),
)
AREAS = (
    ("sqlite thread (aiosqlite)", ("_connection_worker_thread",)),
    ("router usage events (meter + publisher)", ("aistrale_router/metering", "gateway/metering")),
    ("AMQP client (common)", ("aistrale_common/events/amqp", "aistrale_common/events/rabbitmq")),
    ("in-process bus", ("aistrale_common/events/memory",)),
    ("aio-pika / aiormq", ("aio_pika/", "aiormq/", "pamqp/")),
    ("redis client (common resp)", ("aistrale_common/resp",)),
    ("admission (limits, budget, leases)", ("aistrale_router/admission",)),
    ("key auth (cache, user-org lookup)", ("aistrale_router/keys", "aistrale_router/userorg_api")),
    ("upstream exchange (lean client)", ("aistrale_router/upstream",)),
    ("stream relays (SSE)", ("aistrale_router/streaming",)),
    ("routing", ("aistrale_router/routing",)),
    ("catalog", ("aistrale_router/catalog",)),
    ("response write (coalescing transport)", ("aistrale_common/http_server",)),
    ("gateway (request, service, api)", ("aistrale_router/gateway",)),
    ("middleware (observability)", ("aistrale_common/middleware",)),
    ("platform dispatch", ("aistrale_platform/dispatch",)),
    ("database layer (common db)", ("aistrale_common/db",)),
    ("sqlalchemy / asyncpg", ("sqlalchemy/", "asyncpg/")),
    ("uvicorn protocol", ("uvicorn/protocols",)),
    ("metrics", ("prometheus_client", "aistrale_common/metrics")),
)
OTHER = "event loop / other"


def _first(frames: Iterable[str], table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    for frame in frames:
        for name, patterns in table:
            if any(p in frame for p in patterns):
                return name
    return None


def area_of(frames: list[str]) -> str:
    return _first(frames, OWNERS) or _first(reversed(frames), AREAS) or OTHER


def by_area(lines: Iterable[str]) -> list[tuple[str, int]]:
    """py-spy raw lines ("frame;frame;... count", root first) -> samples per area."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            counts[area_of(stack.split(";"))] += int(count)
    return counts.most_common()
