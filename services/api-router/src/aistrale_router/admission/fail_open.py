"""How much of a budget the fail-open fallback may spend while Redis is down.

The per-process fallback cannot see what other replicas spend. Left on its own it would
start every budget from zero, so a spent budget would be paid again by every replica and
every restart. Instead each budget line's limit is lowered, for the fallback, to

    min(share x limit, limit - what this replica last saw spent and held in Redis)

so that a budget seen spent stays spent, and one never seen (a restarted replica) is opened
for `share` of its limit at most. The fallback's own store keeps counting what it spent in
the period, so one replica process passes a budget line by at most `share x limit` per
period, however many outages it lives through (docs/budgets.md, "Redis down").
"""

from __future__ import annotations

from dataclasses import replace

from aistrale_router.admission.plan import BudgetLine, Plan

MAX_LINES = 100_000  # bounded like the key cache; forgetting a line only lowers its allowance


class LastSeen:
    """What this replica last saw of each budget line in Redis (spend plus holds)."""

    def __init__(self, share: float) -> None:
        self._share = share
        self._used: dict[str, int] = {}  # spent key (it names the period) -> micro-USD

    def learn(self, plan: Plan, used: tuple[int, ...]) -> None:
        if not used:
            return
        if len(self._used) >= MAX_LINES:
            self._used.clear()
        for line, value in zip(plan.lines, used, strict=True):
            self._used[line.spent_key] = value

    def allowance(self, line: BudgetLine) -> int:
        cap = int(line.limit * self._share)
        seen = self._used.get(line.spent_key)
        return cap if seen is None else max(0, min(cap, line.limit - seen))

    def fallback_plan(self, plan: Plan) -> Plan:
        """The plan the per-process fallback decides: the same keys, lowered budget lines."""
        if not plan.lines:
            return plan
        lines = tuple(replace(line, limit=self.allowance(line)) for line in plan.lines)
        return replace(plan, lines=lines)
