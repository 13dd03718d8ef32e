"""Waiting for room instead of a 429: a bounded FIFO queue in front of deployments at their
concurrency cap and keys at their RPM (docs/router.md "Queueing")."""

from aistrale_router.queueing.gate import QueueGate, QueueMetrics

__all__ = ["QueueGate", "QueueMetrics"]
