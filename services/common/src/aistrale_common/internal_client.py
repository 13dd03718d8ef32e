"""The HTTP client a service uses for another AISTRALE service's internal API.

A pooled connection is dropped by the client well before the server's keep-alive timeout
closes it: with equal timeouts (httpx's and uvicorn's defaults are both 5 s), a request sent
just as the server closes an idle connection fails at once with "Server disconnected
without sending a response", although the server is fine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

SERVER_KEEP_ALIVE_S = 5  # every AISTRALE server's keep-alive (shutdown.server_config)
CLIENT_KEEP_ALIVE_S = 2.0  # below it, with room for a loaded machine's delays

EventHooks = Mapping[str, list[Callable[..., Any]]]


def internal_client(
    base_url: str,
    *,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    event_hooks: EventHooks | None = None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=timeout,
        trust_env=False,
        limits=httpx.Limits(keepalive_expiry=CLIENT_KEEP_ALIVE_S),
        event_hooks=event_hooks,
    )
