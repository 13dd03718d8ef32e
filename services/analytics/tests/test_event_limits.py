"""The usage event's limits, from the consumer's side: the shared schema's limits are the
columns' (as the migrations made them on Postgres), an event at every limit is stored, one
past any limit is refused as poison at once, and what a producer fits is always stored."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from aistrale_analytics.ingest.decode import PoisonMessage, decode_event
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.tables import usage_events
from aistrale_common.db import Database
from aistrale_common.events.schemas import (
    INT_RANGES,
    MAX_COUNT,
    MAX_MICRO_USD,
    MAX_TOKENS,
    TEXT_LIMITS,
    UsageEventV1,
)

BIGINT_MAX = 2**63 - 1
ROLLED_UP = ("prompt_tokens", "completion_tokens", "cached_tokens", "cost_micro_usd")


def at_limits(org_id: str) -> dict[str, Any]:
    """Every text at its widest (non-ASCII: widths are characters, not bytes), every
    number at its largest."""
    values: dict[str, Any] = {
        name: ("é" + name + "x" * limit)[:limit] for name, limit in TEXT_LIMITS.items()
    }
    values.update({name: high for name, (_, high) in INT_RANGES.items()})
    values.update(latency_ms=1e12, ttft_ms=0.0, stream=True)
    values["org_id"] = org_id.ljust(TEXT_LIMITS["org_id"], "-")
    return values


async def test_the_shared_schema_carries_the_column_limits(pg_db: Database) -> None:
    query = sa.text(
        "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns"
        " WHERE table_name = 'usage_events'"
    )
    async with pg_db.session() as session:
        columns = {name: (kind, width) for name, kind, width in await session.execute(query)}
    schema = {
        name: next((o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"), prop)
        for name, prop in UsageEventV1.model_json_schema()["properties"].items()
    }
    text = {name: width for name, (kind, width) in columns.items() if width and name in schema}
    assert text.keys() - {"event_id"} == TEXT_LIMITS.keys()  # every text column has a limit
    for name in TEXT_LIMITS:
        assert schema[name].get("maxLength") == columns[name][1], name
        assert schema[name].get("pattern") == "^[^\\x00]*$", name  # no NUL: Postgres text
    for name in INT_RANGES:
        column_max = BIGINT_MAX if columns[name][0] == "bigint" else MAX_COUNT
        assert columns[name][0] in ("bigint", "integer"), name
        assert 0 <= schema[name]["minimum"] < schema[name]["maximum"] <= column_max, name
    # Rollups sum these per bucket: a million events at the maximum still fit a BIGINT.
    assert max(MAX_TOKENS, MAX_MICRO_USD) * 1_000_000 < BIGINT_MAX
    assert all(name in INT_RANGES for name in ROLLED_UP)


async def test_an_event_at_every_limit_is_stored_and_one_past_any_is_poison(
    db: Database,
) -> None:
    widest = UsageEventV1(**at_limits("org-limits"))
    assert decode_event(widest.model_dump_json().encode()) == widest
    assert await UsageStore(db).ingest([widest]) == 1
    async with db.session() as session:
        stored = (
            await session.execute(
                sa.select(usage_events.c.model, usage_events.c.cost_micro_usd).where(
                    usage_events.c.event_id == str(widest.event_id)
                )
            )
        ).one()
    assert tuple(stored) == (widest.model, MAX_MICRO_USD)

    payload = widest.model_dump(mode="json")
    past: list[dict[str, Any]] = [{name: payload[name] + "y"} for name in TEXT_LIMITS]
    past += [{name: high + 1} for name, (_, high) in INT_RANGES.items()]
    past += [{name: low - 1} for name, (low, _) in INT_RANGES.items()]
    past += [{"model": "a\u0000b"}, {"latency_ms": -1.0}]
    for change in past:
        body = {**payload, **change, "event_id": str(uuid.uuid4())}
        with pytest.raises(PoisonMessage):
            decode_event(orjson.dumps(body))


async def test_what_a_producer_fits_is_always_stored(db: Database) -> None:
    values = at_limits("org-fitted")
    values.update({name: "\u0000" + "z" * (limit * 3) for name, limit in TEXT_LIMITS.items()})
    values.update(
        prompt_tokens=-5,
        completion_tokens=10**30,
        status=42,
        latency_ms=float("inf"),
        ttft_ms=float("nan"),
    )
    event = UsageEventV1.fitted(**values)
    decoded = decode_event(event.model_dump_json().encode())
    assert decoded.model == "z" * TEXT_LIMITS["model"]
    assert (decoded.prompt_tokens, decoded.completion_tokens) == (0, MAX_TOKENS)
    assert (decoded.status, decoded.latency_ms, decoded.ttft_ms) == (100, 0.0, 0.0)
    assert await UsageStore(db).ingest([decoded]) == 1
