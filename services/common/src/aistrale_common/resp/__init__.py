"""A pipelined Redis client for hot paths: one connection, many calls in flight.

redis-py takes a pooled connection per call (a lock, a checkout, a retry wrapper) and
waits for each reply before the connection serves the next call. Here calls are written
back to back on one connection and replies are matched to calls in order, which is how
Redis answers; writes made in one event-loop turn leave in one syscall. Errors are
redis-py's exception types, so callers handle both clients alike.
"""

from aistrale_common.resp.client import PipelinedRedis

__all__ = ["PipelinedRedis"]
