"""Waiting for room instead of a 429: a bounded priority queue (FIFO within a priority) in
front of deployments at their concurrency cap and keys at their RPM (docs/router.md
"Queueing")."""

from aistrale_router.queueing.gate import QueueGate, QueueMetrics
from aistrale_router.queueing.policy import QueuePlace, queue_place

__all__ = ["QueueGate", "QueueMetrics", "QueuePlace", "queue_place"]
