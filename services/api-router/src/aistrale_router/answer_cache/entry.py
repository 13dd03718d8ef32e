"""One kept answer, as the shared store holds it (JSON text)."""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    body: bytes
    content_type: str
    cost_micro_usd: int  # what the answer cost when it was made: what a hit saves
    expires_at: float  # wall clock (epoch seconds): the in-process copy lives as long

    def encode(self) -> str:
        value = {
            "b": self.body.decode(),
            "t": self.content_type,
            "c": self.cost_micro_usd,
            "e": self.expires_at,
        }
        return orjson.dumps(value).decode()

    @classmethod
    def decode(cls, text: str) -> CachedAnswer | None:
        try:
            value = orjson.loads(text)
            return cls(value["b"].encode(), str(value["t"]), int(value["c"]), float(value["e"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError):
            return None  # written by another version, or damaged: a miss
