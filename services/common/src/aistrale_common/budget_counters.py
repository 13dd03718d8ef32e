"""The Redis layout of budget spend counters: written by the router's admission scripts,
read and corrected by analytics' reconciliation. A contract between services, so it lives
here once (docs/budgets.md "Redis layout").

`{prefix}{<org>}:b:<scope>:<id>:s:<label>`, scope `org` or `key`, label `d20261118` (day),
`m202611` (month) or `t` (total) (budget_periods.py); integer micro-USD, kept 3 days /
63 days / forever. `{<org>}` is a Redis Cluster hash tag: one org's keys share a slot, so
one script may touch them all.

Two writers, so two keys: routers add each settlement to the counter; reconciliation never
touches it, and instead raises `<counter>:floor` to the ledger's value when the counter is
behind (a settlement lost with a killed router). What a budget has spent is
`max(counter, floor)`: a settlement replayed after reconciliation already counted it is
then not counted twice.
"""

from __future__ import annotations

from typing import Literal

from aistrale_common.budget_periods import DAY_S, PERIODS, Period

Scope = Literal["org", "key"]

SPEND_TTL_S: dict[Period, int] = {"day": 3 * DAY_S, "month": 63 * DAY_S, "total": 0}
# Every spend counter a settlement writes, with how long it is kept (0: forever).
SPEND_PERIODS: tuple[tuple[Period, int], ...] = tuple((p, SPEND_TTL_S[p]) for p in PERIODS)


def org_base(prefix: str, org_id: str) -> str:
    """What every one of the org's keys begins with (rate windows too)."""
    return f"{prefix}{{{org_id}}}:"


def scope_key(base: str, scope: str, scope_id: str) -> str:
    """A budget scope's keys begin with this (`base` from org_base)."""
    return f"{base}b:{scope}:{scope_id}"


def spent_key(scope: str, label: str) -> str:
    """The spend counter of the scope `scope` (from scope_key) for one period label."""
    return f"{scope}:s:{label}"


def spend_key(prefix: str, org_id: str, scope: Scope, scope_id: str, label: str) -> str:
    return spent_key(scope_key(org_base(prefix, org_id), scope, scope_id), label)


def floor_key(spend: str) -> str:
    """Where reconciliation writes the ledger's value for the counter `spend`."""
    return f"{spend}:floor"
