"""A lean HTTP/1.1 client for the upstream hop: asyncio protocols and httptools' parser.

Measured at about a quarter of aiohttp's CPU per proxied request (docs/decisions/
router-upstream-client.md). It does only what the router needs: POST and GET, pooled
keep-alive connections per origin, streamed bodies, TLS, timeouts via loop timers.
"""

from aistrale_router.upstream.lean.client import LeanUpstream

__all__ = ["LeanUpstream"]
