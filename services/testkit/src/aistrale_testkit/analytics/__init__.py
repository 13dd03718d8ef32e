"""Helpers for tests of analytics and of its producers: events from the shared schema."""

from aistrale_testkit.rabbit import delete_queues

__all__ = ["delete_queues"]
