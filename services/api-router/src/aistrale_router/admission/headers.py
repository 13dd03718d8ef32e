"""OpenAI's x-ratelimit-* headers from the windows of one admission.

Key and org limits of the same kind are both enforced; the headers report the tighter one
(the fewer requests or tokens remaining). A kind with no configured limit gets no headers:
a made-up number would mislead clients that pace themselves by them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from aistrale_router.admission.plan import Window


def rate_limit_headers(
    windows: Sequence[Window], counts: Sequence[int], now_ms: int
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        pairs = [(w, c) for w, c in zip(windows, counts, strict=False) if w.kind == kind]
        if not pairs:
            continue
        window, count = min(pairs, key=lambda pair: pair[0].limit - pair[1])
        headers[f"x-ratelimit-limit-{kind}"] = str(window.limit)
        headers[f"x-ratelimit-remaining-{kind}"] = str(max(window.limit - count, 0))
        headers[f"x-ratelimit-reset-{kind}"] = duration(window.reset_s(now_ms))
    return headers


def duration(seconds: float) -> str:
    """OpenAI's reset format: `20ms`, `1s`, `6m0s`."""
    if seconds < 1:
        return f"{max(math.ceil(seconds * 1000), 1)}ms"
    whole = math.ceil(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"
