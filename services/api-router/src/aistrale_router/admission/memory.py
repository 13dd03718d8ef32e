"""The in-process store: the Lua scripts' semantics for one process (`make run`, fail-open).

The methods are coroutines only to share the store interface: none of them awaits, so on
one event loop each call is atomic, as a Lua script is on Redis. Keys expire like Redis
keys; a sweep drops dead ones now and then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aistrale_router.admission.plan import Plan
from aistrale_router.admission.verdict import ADMITTED, NO_QUOTA, RATE_LIMITED, Verdict
from aistrale_router.usage.pricing import affordable_tokens

SWEEP_EVERY = 4096


@dataclass
class _Scope:
    held: dict[str, int] = field(default_factory=dict)  # reservation id -> micro-USD
    deadlines: dict[str, int] = field(default_factory=dict)  # reservation id -> ms
    total: int = 0
    # No deadline is earlier than this (0: none held), so admit skips the scan until then;
    # it may be too early after a settle, never too late.
    earliest: int = 0

    def hold(self, rid: str, amount: int, deadline_ms: int) -> None:
        self.held[rid] = self.held.get(rid, 0) + amount
        self.total += amount
        self.deadlines[rid] = deadline_ms
        if not self.earliest or deadline_ms < self.earliest:
            self.earliest = deadline_ms


class MemoryStore:
    def __init__(self) -> None:
        self._counters: dict[str, tuple[int, int]] = {}  # key -> (value, expires_ms; 0 never)
        self._scopes: dict[str, _Scope] = {}
        self._ops = 0

    async def admit(self, plan: Plan, rid: str) -> Verdict:
        self._tick(plan.now_ms)
        scopes = [self._reclaimed(name, plan.now_ms) for name in plan.scopes]
        counts = tuple(self._get(w.key, plan.now_ms) for w in plan.windows)
        used = self._used(plan, scopes, plan.now_ms)
        for i, window in enumerate(plan.windows, 1):
            if window.kind == "requests" and counts[i - 1] + 1 > window.limit:
                return Verdict(RATE_LIMITED, 0, 0, i, counts, used)
        grant, blocking = _budget_grant(plan, used)
        if grant < min(plan.min_tokens, plan.want):
            return Verdict(NO_QUOTA, 0, 0, blocking, counts, used)
        grant, blocking = _tpm_grant(plan, counts, grant)
        if blocking:
            return Verdict(RATE_LIMITED, 0, 0, blocking, counts, used)
        held = plan.cost(plan.prompt, grant * plan.choices)
        held = held if plan.lines and plan.priced else 0
        counts = self._apply(plan, rid, scopes, grant, held)
        return Verdict(ADMITTED, grant, held, 0, counts, used)

    async def settle(
        self, plan: Plan, rid: str, token_delta: int, cost: int, tpm_keys: list[str]
    ) -> None:
        for name in plan.scopes:
            scope = self._scopes.get(name)
            if scope is not None and rid in scope.held:
                scope.total -= scope.held.pop(rid)
                scope.deadlines.pop(rid, None)
        for key in tpm_keys:
            value, expires = self._counters.get(key, (0, 0))
            if key in self._counters:
                self._counters[key] = (value + token_delta, expires)
        if cost > 0:
            for spend in plan.spend:
                self._incr(spend.key, cost, spend.ttl_s * 1000, plan.now_ms)

    async def extend(
        self, plan: Plan, rid: str, need: int, extra: int, now_ms: int, deadline_ms: int
    ) -> int:
        scopes = [self._reclaimed(name, now_ms) for name in plan.scopes]
        left = _tightest(plan, self._used(plan, scopes, now_ms))[0]
        if need > 0 and left < need:
            return -1
        amount = max(0, min(extra, left))
        for scope in scopes:
            scope.hold(rid, amount, deadline_ms)
        return amount

    def _apply(
        self, plan: Plan, rid: str, scopes: list[_Scope], grant: int, held: int
    ) -> tuple[int, ...]:
        counts = []
        for window in plan.windows:
            amount = 1 if window.kind == "requests" else plan.prompt + grant * plan.choices
            ttl_ms = window.ttl_ms(plan.now_ms)
            counts.append(self._incr(window.key, amount, ttl_ms, plan.now_ms))
        if held > 0:
            for scope in scopes:
                scope.hold(rid, held, plan.deadline_ms)
        return tuple(counts)

    def _used(self, plan: Plan, scopes: list[_Scope], now_ms: int) -> tuple[int, ...]:
        """Per budget line: its period's spend plus everything its scope holds."""
        return tuple(
            self._get(line.spent_key, now_ms) + scopes[line.scope].total for line in plan.lines
        )

    def _reclaimed(self, name: str, now_ms: int) -> _Scope:
        """The scope with the reservations whose routers never settled them released."""
        scope = self._scopes.get(name)
        if scope is None:
            scope = self._scopes[name] = _Scope()
        if not scope.earliest or now_ms <= scope.earliest:
            return scope
        for rid in [r for r, deadline in scope.deadlines.items() if deadline < now_ms]:
            scope.total -= scope.held.pop(rid, 0)
            del scope.deadlines[rid]
        scope.earliest = min(scope.deadlines.values(), default=0)
        return scope

    async def read(self, key: str, now_ms: int) -> int:
        return self._get(key, now_ms)

    def _get(self, key: str, now_ms: int) -> int:
        value, expires = self._counters.get(key, (0, 0))
        return 0 if expires and expires <= now_ms else value

    def _incr(self, key: str, amount: int, ttl_ms: int, now_ms: int) -> int:
        value, expires = self._counters.get(key, (0, 0))
        if expires and expires <= now_ms:
            value, expires = 0, 0
        if value == 0 and not expires and ttl_ms:
            expires = now_ms + ttl_ms
        self._counters[key] = (value + amount, expires)
        return value + amount

    def _tick(self, now_ms: int) -> None:
        self._ops += 1
        if self._ops % SWEEP_EVERY:
            return
        self._counters = {k: v for k, v in self._counters.items() if not v[1] or v[1] > now_ms}
        self._scopes = {k: s for k, s in self._scopes.items() if s.held}


def _tightest(plan: Plan, used: tuple[int, ...]) -> tuple[int, int]:
    """The least any budget line has left after spend and holds, and that line (1-based)."""
    best, blocking = 0, 0
    for i, (line, spent) in enumerate(zip(plan.lines, used, strict=True), 1):
        left = line.limit - spent
        if blocking == 0 or left < best:
            best, blocking = left, i
    return best, blocking


def _budget_grant(plan: Plan, used: tuple[int, ...]) -> tuple[int, int]:
    if not plan.lines or not plan.priced:
        return plan.want, 0
    remaining, blocking = _tightest(plan, used)
    if plan.worst_cost() <= remaining:
        return plan.want, blocking
    grant = affordable_tokens(remaining, plan.prompt, plan.price, plan.want, plan.choices)
    return grant, blocking


def _tpm_grant(plan: Plan, counts: tuple[int, ...], grant: int) -> tuple[int, int]:
    """Fits the request into the token windows: an implicit max_tokens is lowered to what
    the window has left; an explicit one is refused (retrying soon gives the full answer)."""
    for i, window in enumerate(plan.windows, 1):
        if window.kind != "tokens":
            continue
        left = (window.limit - counts[i - 1] - plan.prompt) // plan.choices
        if grant <= left:
            continue
        if plan.explicit or left < min(plan.min_tokens, plan.want):
            return 0, i
        grant = left
    return grant, 0
