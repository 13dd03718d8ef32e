"""Usage events for tests, built with the shared schema (never hand-written JSON)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from aistrale_common.events.schemas import UsageEventV1

BASE_TIME = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def usage_event(
    org_id: str = "org-1",
    *,
    key_id: str = "key-1",
    model: str = "llama-3-8b",
    occurred_at: datetime | None = None,
    status: int = 200,
    prompt_tokens: int = 10,
    completion_tokens: int = 20,
    cost_micro_usd: int = 150,
    latency_ms: float = 100.0,
    ttft_ms: float | None = None,
) -> UsageEventV1:
    return UsageEventV1(
        event_id=uuid.uuid4(),
        occurred_at=occurred_at or BASE_TIME,
        request_id=uuid.uuid4().hex,
        org_id=org_id,
        key_id=key_id,
        endpoint="/v1/chat/completions",
        model=model,
        status=status,
        error_type="upstream_error" if status >= 400 else None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_micro_usd=cost_micro_usd,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
    )


def random_events(count: int, org_id: str, seed: int = 7) -> list[UsageEventV1]:
    """Spread over two days, three keys and two models, with varied numbers."""
    rng = random.Random(seed)
    return [
        usage_event(
            org_id,
            key_id=rng.choice(["key-a", "key-b", "key-c"]),
            model=rng.choice(["llama-3-8b", "gpt-4o-mini"]),
            occurred_at=BASE_TIME + timedelta(seconds=rng.randrange(0, 2 * 86400)),
            status=rng.choice([200, 200, 200, 429, 502]),
            prompt_tokens=rng.randrange(0, 2000),
            completion_tokens=rng.randrange(0, 1000),
            cost_micro_usd=rng.randrange(0, 50_000),
            latency_ms=rng.uniform(5, 3000),
            ttft_ms=rng.choice([None, rng.uniform(1, 500)]),
        )
        for _ in range(count)
    ]


def numbered_event(run: str, index: int, org_id: str) -> UsageEventV1:
    """The index-th event of a load run: deterministic, so a test can recompute the sums."""
    return UsageEventV1(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"aistrale-load/{run}/{index}"),
        occurred_at=BASE_TIME + timedelta(seconds=index * 7),
        request_id=f"{run}-{index}",
        org_id=org_id,
        key_id=f"key-{index % 3}",
        endpoint="/v1/chat/completions",
        model="llama-3-8b" if index % 2 else "gpt-4o-mini",
        status=200 if index % 10 else 502,
        prompt_tokens=index % 997,
        completion_tokens=(index * 31) % 503,
        cost_micro_usd=(index * 7919) % 100_000,
        latency_ms=float(index % 1000),
    )
