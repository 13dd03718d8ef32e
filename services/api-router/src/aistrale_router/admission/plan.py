"""What one admission touches: the rate windows, the budget lines and the spend counters.

Both adapters (Redis and in-process) work from the same `Plan`, built here from the request
and the clock, so limits always come from the request's fresh KeyRecord and never from a
cache in the store. All store keys of one request share the org's hash tag `{org_id}` so the
Lua scripts stay valid on a Redis Cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from aistrale_common.budget_counters import SPEND_PERIODS, org_base, scope_key, spent_key
from aistrale_common.budget_periods import period_label, period_reset_s
from aistrale_router.admission.pricing import request_cost
from aistrale_router.keys.record import KeyRecord

WINDOW_S = 60  # RPM and TPM are per minute, in windows aligned to the UTC minute
Kind = Literal["requests", "tokens"]


@dataclass(frozen=True, slots=True)
class Window:
    key: str
    limit: int
    kind: Kind
    ends_ms: int  # epoch ms at which the window ends

    def reset_s(self, now_ms: int) -> float:
        return (self.ends_ms - now_ms) / 1000

    def ttl_ms(self, now_ms: int) -> int:
        """How long a counter created now lives: past the window's end, by a second."""
        return self.ends_ms - now_ms + 1000


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One budget rule: `limit` against the spend of its period plus everything held."""

    scope: int  # index into Plan.scopes
    limit: int
    spent_key: str
    resets_at: float | None  # epoch seconds at which the period rolls over; None: "total"


@dataclass(frozen=True, slots=True)
class SpendKey:
    key: str
    ttl_s: int  # 0: never expires


@dataclass(frozen=True, slots=True)
class Plan:
    now_ms: int
    deadline_ms: int  # when this request's reservation expires by itself
    windows: tuple[Window, ...]
    scopes: tuple[str, ...]  # budget scope keys; held hash at `s:held`, expiries at `s:exp`
    lines: tuple[BudgetLine, ...]
    spend: tuple[SpendKey, ...]  # every counter a settlement adds its cost to
    prompt: int
    want: int  # max_tokens asked for, or the model's maximum output
    explicit: bool  # the client set max_tokens
    min_tokens: int
    price_in: int  # micro-USD per million tokens
    price_out: int
    org_id: str = ""  # for metrics and logs
    # Completions generated per request (n, best_of, several prompts), each of up to `want`
    # tokens: reserved and counted as `want * choices` output tokens.
    choices: int = 1
    # The counters and limits it touches (windows, scopes, budget lines): equal for the
    # requests of one key in one minute, whatever their size. Leases are kept by it.
    shape: tuple[object, ...] = ()

    @property
    def priced(self) -> bool:
        return self.price_in > 0 or self.price_out > 0

    @property
    def worst_tokens(self) -> int:
        """Prompt and every choice's full output: what the token windows reserve."""
        return self.prompt + self.want * self.choices

    def worst_cost(self) -> int:
        return request_cost(self.price_in, self.price_out, self.prompt, self.want * self.choices)


def make_plan(
    key: KeyRecord,
    *,
    prompt: int,
    max_tokens: int | None,
    model_max: int,
    price: tuple[int, int],
    now: float,
    prefix: str,
    ttl_s: int,
    min_tokens: int,
    choices: int = 1,
) -> Plan:
    limits = _limits(key, prefix, now)
    now_ms = int(now * 1000)
    want = max(1, min(max_tokens, model_max) if max_tokens is not None else model_max)
    return Plan(
        now_ms=now_ms,
        deadline_ms=now_ms + ttl_s * 1000,
        windows=limits.windows,
        scopes=limits.scopes,
        lines=limits.lines,
        spend=limits.spend,
        prompt=max(prompt, 0),
        want=want,
        explicit=max_tokens is not None,
        min_tokens=min_tokens,
        price_in=price[0],
        price_out=price[1],
        org_id=key.org_id,
        choices=max(1, choices),
        shape=limits.shape,
    )


@dataclass(frozen=True, slots=True)
class _Limits:
    """What a plan takes from the key record: the same for a key within one UTC minute
    (window keys change every minute; period labels only on minutes too)."""

    key: KeyRecord  # held, so that its id cannot be reused while cached
    prefix: str
    minute: int
    windows: tuple[Window, ...]
    scopes: tuple[str, ...]
    lines: tuple[BudgetLine, ...]
    spend: tuple[SpendKey, ...]
    shape: tuple[object, ...]


# Cached per key record and minute: building them costs more than the rest of an
# admission from a lease. Bounded by the key cache's own size.
_LIMITS_CACHE: dict[int, _Limits] = {}
_LIMITS_CACHE_MAX = 50_000


def _limits(key: KeyRecord, prefix: str, now: float) -> _Limits:
    minute = math.floor(now / WINDOW_S)
    cached = _LIMITS_CACHE.get(id(key))
    if cached and cached.key is key and cached.prefix == prefix and cached.minute == minute:
        return cached
    base = org_base(prefix, key.org_id)
    scopes = _scopes(key, base)
    windows = _windows(key, base, minute)
    lines = _lines(key, base, scopes, now)
    shape = (
        tuple((w.key, w.limit) for w in windows),
        tuple(scopes),
        tuple((line.spent_key, line.limit) for line in lines),
    )
    made = _Limits(
        key, prefix, minute, windows, tuple(scopes), lines, _spend_keys(key, base, now), shape
    )
    if len(_LIMITS_CACHE) >= _LIMITS_CACHE_MAX:
        _LIMITS_CACHE.clear()
    _LIMITS_CACHE[id(key)] = made
    return made


def _scopes(key: KeyRecord, base: str) -> list[str]:
    seen: list[str] = []
    for rule in key.budgets:
        name = scope_key(base, rule.scope, rule.scope_id)
        if name not in seen:
            seen.append(name)
    return seen


def _lines(key: KeyRecord, base: str, scopes: list[str], now: float) -> tuple[BudgetLine, ...]:
    lines = []
    for rule in key.budgets:
        name = scope_key(base, rule.scope, rule.scope_id)
        label = period_label(rule.period, now)
        reset = period_reset_s(rule.period, now)
        lines.append(
            BudgetLine(
                scope=scopes.index(name),
                limit=rule.limit_micro_usd,
                spent_key=spent_key(name, label),
                resets_at=None if reset is None else now + reset,
            )
        )
    return tuple(lines)


def _spend_keys(key: KeyRecord, base: str, now: float) -> tuple[SpendKey, ...]:
    labels = tuple(period_label(period, now) for period, _ in SPEND_PERIODS)
    return _make_spend_keys(key, base, labels)


def _make_spend_keys(key: KeyRecord, base: str, labels: tuple[str, ...]) -> tuple[SpendKey, ...]:
    # Spend is counted for the org and the key in every period, budget or not, so a budget
    # created or switched mid-period starts from what was really spent in that period.
    owners = {("org", key.org_id), ("key", key.key_id)}
    owners.update((r.scope, r.scope_id) for r in key.budgets)
    ttls = [ttl for _, ttl in SPEND_PERIODS]
    return tuple(
        SpendKey(spent_key(scope_key(base, scope, sid), label), ttl)
        for scope, sid in sorted(owners)
        for label, ttl in zip(labels, ttls, strict=True)
    )


def _windows(key: KeyRecord, base: str, minute: int) -> tuple[Window, ...]:
    ends_ms = (minute + 1) * WINDOW_S * 1000
    wanted: list[tuple[str, int | None, Kind]] = [
        (f"rpm:k:{key.key_id}", key.rpm_limit, "requests"),
        ("rpm:o", key.org_rpm_limit, "requests"),
        (f"tpm:k:{key.key_id}", key.tpm_limit, "tokens"),
        ("tpm:o", key.org_tpm_limit, "tokens"),
    ]
    return tuple(
        Window(f"{base}{name}:{minute}", limit, kind, ends_ms)
        for name, limit, kind in wanted
        if limit is not None
    )
