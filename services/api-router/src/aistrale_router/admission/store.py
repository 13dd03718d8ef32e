"""What a limits store does; `RedisStore` and `MemoryStore` both do it, atomically."""

from __future__ import annotations

from typing import Protocol

from aistrale_router.admission.plan import Plan
from aistrale_router.admission.verdict import Verdict


class Store(Protocol):
    async def admit(self, plan: Plan, rid: str) -> Verdict:
        """Checks every window and budget line; applies all of them or none."""
        ...

    async def settle(
        self, plan: Plan, rid: str, token_delta: int, cost: int, tpm_keys: list[str]
    ) -> None:
        """Releases the hold, corrects the token windows by `token_delta`, adds the cost."""
        ...

    async def extend(
        self, plan: Plan, rid: str, need: int, extra: int, now_ms: int, deadline_ms: int
    ) -> int:
        """Holds up to `extra` more micro-USD for `rid`, at least `need`, if every budget
        line can pay; returns the amount held, or -1."""
        ...

    async def read(self, key: str, now_ms: int) -> int:
        """A counter's value (spend, window), 0 when absent or expired."""
        ...


class ManagedStore(Store, Protocol):
    """A store with a connection: what the Redis-down policy pings and closes."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
