"""Limits-store faults (store_errors.StoreFault): logged at error level, counted in metrics,
and remembered for a while so that /ready shows them."""

from __future__ import annotations

import time
from collections import deque

from aistrale_common.logging import get_logger
from aistrale_router.admission.metrics import AdmissionMetrics
from aistrale_router.admission.store_errors import StoreFault

log = get_logger(__name__)
WINDOW_S = 300.0
MAX_REMEMBERED = 1_000


class RecentFaults:
    def __init__(self, metrics: AdmissionMetrics | None, window_s: float = WINDOW_S) -> None:
        self._metrics = metrics
        self._window_s = window_s
        self._at: deque[float] = deque(maxlen=MAX_REMEMBERED)

    def note(self, op: str, org_id: str, exc: StoreFault) -> None:
        log.error("limits_store_fault", op=op, org_id=org_id, error=str(exc))
        if self._metrics is not None:
            self._metrics.store_fault(op)
        self._at.append(time.monotonic())

    def count(self) -> int:
        """Faults within the window (at most MAX_REMEMBERED)."""
        since = time.monotonic() - self._window_s
        while self._at and self._at[0] < since:
            self._at.popleft()
        return len(self._at)

    def describe(self) -> str | None:
        """What /ready shows, None when there was no fault lately."""
        count = self.count()
        if not count:
            return None
        return (
            f"{count} limits-store faults in the last {self._window_s:.0f}s: the requests of "
            "the orgs concerned were refused (a bug; see the error logs)"
        )
