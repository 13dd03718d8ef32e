"""What the router knows about an API key: the answer of user-org's internal key lookup.

The wire contract is `aistrale_common.key_lookup`; `KeyRecord` is the router's name for it.
"""

from __future__ import annotations

from aistrale_common.budget_periods import Period
from aistrale_common.key_lookup import BudgetRule, KeyLookup

__all__ = ["BudgetRule", "KeyRecord", "Period"]

KeyRecord = KeyLookup
