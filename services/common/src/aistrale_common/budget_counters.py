"""The Redis layout of budget spend counters: written by the router's admission scripts,
read and corrected by analytics' reconciliation. A contract between services, so it lives
here once (docs/budgets.md "Redis layout").

`{prefix}{<org>}:b:<scope>:<id>:s:<label>`, scope `org` or `key`, label `d20261118` (day),
`m202611` (month) or `t` (total); integer micro-USD, kept 3 days / 63 days / forever.

Two writers, so two keys: routers add each settlement to the counter; reconciliation never
touches it, and instead raises `<counter>:floor` to the ledger's value when the counter is
behind (a settlement lost with a killed router). What a budget has spent is
`max(counter, floor)`: a settlement replayed after reconciliation already counted it is
then not counted twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Period = Literal["day", "month", "total"]
Scope = Literal["org", "key"]

DAY_S = 86_400
SPEND_TTL_S: dict[Period, int] = {"day": 3 * DAY_S, "month": 63 * DAY_S, "total": 0}
DAY_LABEL = "d%Y%m%d"
MONTH_LABEL = "m%Y%m"
TOTAL_LABEL = "t"


def period_label(period: Period, moment: datetime) -> str:
    if period == "day":
        return moment.strftime(DAY_LABEL)
    if period == "month":
        return moment.strftime(MONTH_LABEL)
    return TOTAL_LABEL


def spend_key(prefix: str, org_id: str, scope: Scope, scope_id: str, label: str) -> str:
    return f"{prefix}{{{org_id}}}:b:{scope}:{scope_id}:s:{label}"


def floor_key(spend: str) -> str:
    """Where reconciliation writes the ledger's value for the counter `spend`."""
    return f"{spend}:floor"
